"""Contrastive losses that take embeddings."""

from embedtune.losses.infonce import InfoNCELoss

__all__ = ["InfoNCELoss"]
