"""Models: the Embedder (backbone + pooling + normalisation), pooling, LoRA, named models."""

from embedtune.models.config import EmbedderConfig
from embedtune.models.embedder import Embedder
from embedtune.models.pooling import POOLING_MODES, pool

__all__ = ["Embedder", "EmbedderConfig", "POOLING_MODES", "pool"]
