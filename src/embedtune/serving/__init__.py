"""An OpenAI-compatible embedding server with cross-request batching."""
