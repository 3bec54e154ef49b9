"""`embedtune rotate`: a model folder that embeds as the old one rotated by a fit on the
given texts; bad input exits 2 and writes nothing."""

import json
import random

import numpy as np
import pytest

from embedtune.cli import main
from embedtune.models import Embedder
from embedtune.models.rotation import ROTATION_FILE, fit_rotation
from tests.conftest import WORDS


def _texts(n, seed=0):
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 20))) for _ in range(n)]


def _rotate(model, src, out, *extra):
    return main(
        ["rotate", "--model", str(model), "--input", str(src), "--output", str(out)]
        + ["--dtype", "fp32", *extra]
    )


def test_rotate_writes_a_model_that_embeds_rotated(tiny_decoder, tmp_path, capsys):
    texts = _texts(60)
    src = tmp_path / "corpus.jsonl"
    src.write_text("".join(json.dumps({"id": i, "body": t}) + "\n" for i, t in enumerate(texts)))
    out = tmp_path / "rotated"
    assert _rotate(tiny_decoder, src, out, "--column", "body", "--role", "document") == 0
    assert "variance in the first dimensions: 16:" in capsys.readouterr().out
    plain = Embedder.load(tiny_decoder).encode(texts, role="document")
    rotated = Embedder.load(out)
    assert rotated.config.rotation == f"60 texts of {src} as document"
    expected = plain @ fit_rotation(plain).T
    assert np.abs(rotated.encode(texts, role="document") - expected).max() <= 1e-5
    # at full size nothing moves; the first 8 of 32 dimensions hold more than they did
    others = _texts(30, seed=1)
    a, b = Embedder.load(tiny_decoder).encode(others), rotated.encode(others)
    assert np.abs(a @ a.T - b @ b.T).max() <= 1e-5
    assert (b[:, :8] ** 2).sum() > (a[:, :8] ** 2).sum()


def test_rotating_twice_composes(tiny_decoder, tmp_path):
    texts = _texts(50)
    src = tmp_path / "t.txt"
    src.write_text("\n".join(texts) + "\n")
    assert _rotate(tiny_decoder, src, tmp_path / "once") == 0
    assert _rotate(tmp_path / "once", src, tmp_path / "twice", "--limit", "40") == 0
    twice = Embedder.load(tmp_path / "twice")
    assert (
        twice.config.rotation.startswith("40 texts of")
        and "after 50 texts" in twice.config.rotation
    )
    once = Embedder.load(tmp_path / "once").encode(texts)
    # a fit on already-ordered vectors changes little, and cosines never
    assert np.abs(once @ once.T - twice.encode(texts) @ twice.encode(texts).T).max() <= 1e-5


@pytest.mark.parametrize(
    "lines, extra, message",
    [
        (10, [], "10 texts; a rotation of this model's 32 dimensions needs at least 32"),
        (50, ["--limit", "0"], "--limit must be >= 1"),
        (50, ["--column", "nope"], "t.jsonl:1: column 'nope' is missing"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    lines, extra, message, tiny_decoder, tmp_path, capsys
):
    src = tmp_path / "t.jsonl"
    src.write_text("".join(json.dumps({"text": t}) + "\n" for t in _texts(lines)))
    out = tmp_path / "rotated"
    assert _rotate(tiny_decoder, src, out, *extra) == 2
    assert message in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob(".rotated-*"))


def test_a_rotated_model_without_its_file_is_refused_by_every_command(
    tiny_decoder, tmp_path, capsys
):
    src = tmp_path / "t.txt"
    src.write_text("\n".join(_texts(40)) + "\n")
    assert _rotate(tiny_decoder, src, tmp_path / "r") == 0
    (tmp_path / "r" / ROTATION_FILE).unlink()
    out = tmp_path / "v.npy"
    assert (
        main(["embed", "--model", str(tmp_path / "r"), "--input", str(src), "--output", str(out)])
        == 2
    )
    assert "rotation.npy is missing" in capsys.readouterr().err and not out.exists()
