"""Contrastive losses that take embeddings."""

from embedtune.losses.infonce import InfoNCELoss
from embedtune.losses.matryoshka import MatryoshkaLoss

__all__ = ["InfoNCELoss", "MatryoshkaLoss"]
