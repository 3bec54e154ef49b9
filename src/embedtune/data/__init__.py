"""Data: STS tasks, triplet readers, batching."""
