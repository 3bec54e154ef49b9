"""Using a trained embedder elsewhere: exports other tools load, correctness checks, embedding files."""
