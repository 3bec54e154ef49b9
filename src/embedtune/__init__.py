"""embedtune: turn small language models into strong text-embedding models by contrastive
fine-tuning (LoRA + InfoNCE with hard negatives), and prove it on the STS benchmarks."""

from embedtune.models import Embedder, EmbedderConfig

__version__ = "0.1.0"
__all__ = ["Embedder", "EmbedderConfig", "__version__"]
