"""Using a trained embedder: embedding files."""
