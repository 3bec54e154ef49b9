import json

import numpy as np
import torch

from embedtune.cli import main
from embedtune.evaluation.quantized import quantized_top_k
from embedtune.evaluation.retrieval import top_k
from embedtune.quantization import (
    bytes_per_vector,
    from_int8,
    int8_ranges,
    signs,
    to_int8,
    to_ubinary,
)
from tests.conftest import SENTENCES
from tests.data.test_beir import write_beir


def _unit(n, d, seed):
    x = torch.randn(n, d, generator=torch.Generator().manual_seed(seed))
    return x / x.norm(dim=1, keepdim=True)


def test_int8_codes_stay_within_half_a_bucket_and_binary_keeps_signs():
    x = np.random.default_rng(0).normal(size=(200, 20)).astype(np.float32)
    lo, hi = int8_ranges(x)
    q = to_int8(x, lo, hi)
    assert q.dtype == np.int8 and q.min() == -128 and q.max() == 127
    assert np.abs(from_int8(q, lo, hi) - x).max() <= ((hi - lo) / 255).max() / 2 + 1e-6
    packed = to_ubinary(x)
    assert packed.shape == (200, 3) and packed.dtype == np.uint8
    assert np.array_equal(signs(packed, 20), np.where(x > 0, 1.0, -1.0))
    assert [bytes_per_vector(p, 640) for p in ("float32", "int8", "ubinary")] == [2560, 640, 80]


def test_binary_ranking_is_hamming_ranking_and_rescoring_recovers_the_float_top_10():
    queries, docs = _unit(20, 64, 1), _unit(3000, 64, 2)
    _, exact = top_k(queries, docs, 10)
    _, binary = quantized_top_k(queries, docs, 10, "ubinary")
    qb, db = to_ubinary(queries.numpy()), to_ubinary(docs.numpy())
    hamming = np.unpackbits(qb[:, None, :] ^ db[None, :, :], axis=2).sum(2)  # (Q, N)
    kth = np.sort(hamming, axis=1)[:, 9]
    assert all(hamming[i, binary[i]].max() <= kth[i] for i in range(20))  # the 10 nearest
    _, rescored = quantized_top_k(queries, docs, 10, "ubinary", rescore=4)
    _, int8 = quantized_top_k(queries, docs, 10, "int8")

    def overlap(rows):
        return np.mean(
            [len(set(rows[i, :10].tolist()) & set(exact[i].tolist())) for i in range(20)]
        )

    assert overlap(int8) >= 9.5 and overlap(rescored) > overlap(binary)
    exclude = exact[:, 0].tolist()
    _, rows = quantized_top_k(queries, docs, 10, "ubinary", exclude, rescore=4)
    assert all(exclude[i] not in rows[i].tolist() for i in range(20))


def test_embed_int8_writes_its_ranges_and_reuses_given_ones(tiny_encoder, tmp_path, capsys):
    src = tmp_path / "in.txt"
    src.write_text("\n".join(SENTENCES) + "\n")
    base = ["embed", "--model", str(tiny_encoder), "--input", str(src), "--dtype", "fp32"]
    assert main(base + ["--output", str(tmp_path / "f.npy")]) == 0
    assert main(base + ["--output", str(tmp_path / "q.npy"), "--precision", "int8"]) == 0
    full, q = np.load(tmp_path / "f.npy"), np.load(tmp_path / "q.npy")
    ranges = np.load(tmp_path / "q.int8-ranges.npy")
    assert q.dtype == np.int8 and np.array_equal(q, to_int8(full, ranges[0], ranges[1]))
    again = ["--output", str(tmp_path / "q2.npy"), "--precision", "int8"]
    assert main(base + again + ["--calibration", str(tmp_path / "q.int8-ranges.npy")]) == 0
    assert np.array_equal(np.load(tmp_path / "q2.npy"), q)
    assert main(base + ["--output", str(tmp_path / "b.npy"), "--precision", "ubinary"]) == 0
    assert np.load(tmp_path / "b.npy").shape == (len(SENTENCES), 4)  # 32 dims, 4 bytes
    assert main(base + ["--output", str(tmp_path / "x.parquet"), "--precision", "int8"]) == 2
    assert "int8 embeddings are written as .npy" in capsys.readouterr().err


def test_evaluate_reports_precision_and_memory_and_refuses_rescore_without_binary(
    tiny_encoder, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("EMBEDTUNE_CACHE", str(tmp_path / "cache"))
    folder = write_beir(tmp_path / "toy")
    out = tmp_path / "r.json"
    args = ["evaluate", "--model", str(tiny_encoder), "--tasks", str(folder), "--output", str(out)]
    assert main(args + ["--precision", "ubinary", "--rescore", "4"]) == 0
    scores = json.loads(out.read_text())["tasks"][str(folder)]
    assert scores["precision"] == "ubinary+rescore4" and scores["bytes_per_vector"] == 4
    assert scores["rescore_bytes_per_vector"] == 32
    assert main(args + ["--rescore", "4"]) == 2
    assert "--rescore N (N >= 1) goes with --precision ubinary" in capsys.readouterr().err
