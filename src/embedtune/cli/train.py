"""``embedtune train``: contrastive fine-tuning from a YAML recipe (placeholder, see below)."""
