"""Training: the loop (trainer), its schedule, checkpoints, GradCache, run fingerprints and reports."""
