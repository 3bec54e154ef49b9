import tracemalloc

from embedtune.models import Embedder


def _peak_python_bytes(emb, n):
    texts = ["a cat sits"] * n
    tracemalloc.start()
    emb.encode(texts, batch_size=512, chunk_size=1024)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_encode_memory_does_not_grow_with_input_size(tiny_encoder):
    """Token ids live one chunk at a time: Python-side memory is flat from 4k to 16k texts
    (the output tensor is allocated by torch, outside tracemalloc)."""
    emb = Embedder.load(tiny_encoder)
    small, large = _peak_python_bytes(emb, 4_000), _peak_python_bytes(emb, 16_000)
    assert large < small * 1.5 + 2_000_000  # 4x the texts, not 4x the memory
