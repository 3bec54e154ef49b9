"""The rotation that orders output dimensions by variance: orthogonal (no cosine changes at
full size), most variance first, saved and read back with its checks, applied by the
embedder before normalisation."""

import random

import numpy as np
import pytest

from embedtune.errors import ConfigError
from embedtune.models import Embedder
from embedtune.models.rotation import ROTATION_FILE, fit_rotation, read_rotation, save_rotation
from tests.conftest import WORDS


def _texts(n=80, seed=0):
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 20))) for _ in range(n)]


def _cosines(x):
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    return x @ x.T


def test_the_fit_is_orthogonal_ordered_and_repeatable():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 16)) * np.geomspace(0.1, 3.0, 16)  # the last varies most, by far
    r = fit_rotation(x)
    assert r.dtype == np.float32 and r.shape == (16, 16)
    assert np.abs(r.astype(np.float64) @ r.T - np.eye(16)).max() < 1e-5
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    variance = ((unit @ r.T) ** 2).mean(axis=0)
    assert np.all(np.diff(variance) <= 1e-9)  # each dimension carries no more than the one before
    assert np.abs(r[0]).argmax() == 15
    assert np.array_equal(r, fit_rotation(x))
    assert np.array_equal(r, fit_rotation(-x))  # signs fixed, whatever the data's


def test_too_few_texts_to_fit_are_refused():
    with pytest.raises(ConfigError, match="at least 16 texts"):
        fit_rotation(np.ones((15, 16)))


def test_the_embedder_rotates_and_keeps_every_cosine(tiny_decoder):
    emb = Embedder.load(tiny_decoder)
    texts = _texts()
    plain = emb.encode(texts)
    r = fit_rotation(plain)
    emb.rotate(r, "test texts")
    rotated = emb.encode(texts)
    assert np.abs(rotated - plain @ r.T).max() <= 1e-5
    assert np.abs(_cosines(rotated) - _cosines(plain)).max() <= 1e-5
    assert np.abs(np.linalg.norm(rotated, axis=1) - 1).max() <= 1e-5  # still normalised
    # the first quarter now holds more of the vectors than before
    share = lambda x: (x[:, :8] ** 2).sum() / (x**2).sum()  # noqa: E731
    assert share(rotated) > share(plain)


def test_a_second_rotation_composes_with_the_first(tiny_decoder):
    emb = Embedder.load(tiny_decoder)
    texts = _texts()
    plain = emb.encode(texts)
    r1 = fit_rotation(plain)
    r2 = fit_rotation(np.random.default_rng(1).normal(size=(64, 32)))
    emb.rotate(r1, "first")
    emb.rotate(r2, "second")
    assert np.abs(emb.encode(texts) - plain @ r1.T @ r2.T).max() <= 1e-5


@pytest.mark.parametrize("model", ["tiny_decoder", "tiny_encoder"])
def test_a_rotated_model_saves_and_loads_back(model, request, tmp_path):
    emb = Embedder.load(request.getfixturevalue(model))
    texts = _texts()
    emb.rotate(fit_rotation(emb.encode(texts)), "80 test texts")
    emb.save(tmp_path / "m")
    again = Embedder.load(tmp_path / "m")
    assert again.config.rotation == "80 test texts"
    assert np.abs(again.encode(texts) - emb.encode(texts)).max() <= 1e-6


def test_a_rotated_adapter_saves_and_loads_back(tiny_decoder, tmp_path):
    from embedtune.models.lora import apply_lora

    emb = Embedder.load(tiny_decoder)
    apply_lora(emb, 4, 8, 0.0)
    texts = _texts()
    emb.rotate(fit_rotation(emb.encode(texts)), "adapter texts")
    emb.save(tmp_path / "m")
    assert (tmp_path / "m" / "adapter").is_dir() and (tmp_path / "m" / ROTATION_FILE).is_file()
    assert np.abs(Embedder.load(tmp_path / "m").encode(texts) - emb.encode(texts)).max() <= 1e-6


@pytest.mark.parametrize(
    "matrix, message",
    [
        (None, "is missing"),
        (np.eye(16), r"shape \(16, 16\), expected \(32, 32\)"),
        (2 * np.eye(32), "not orthogonal"),
        (np.full((32, 32), np.nan), "not orthogonal"),
    ],
)
def test_a_bad_rotation_file_is_named(matrix, message, tiny_decoder, tmp_path):
    emb = Embedder.load(tiny_decoder)
    emb.rotate(np.eye(32), "identity")
    emb.save(tmp_path / "m")
    (tmp_path / "m" / ROTATION_FILE).unlink()
    if matrix is not None:
        save_rotation(tmp_path / "m", matrix)
    with pytest.raises(ConfigError, match=message) as e:
        Embedder.load(tmp_path / "m")
    assert ROTATION_FILE in str(e.value)  # every one of these errors names the file


def test_a_file_that_is_not_an_array_is_named(tmp_path):
    (tmp_path / ROTATION_FILE).write_bytes(b"not numpy")
    with pytest.raises(ConfigError, match=ROTATION_FILE):
        read_rotation(tmp_path, 32)


def test_the_rotation_is_not_an_option_to_override(tiny_decoder):
    with pytest.raises(ConfigError, match="unknown Embedder option"):
        Embedder.load(tiny_decoder, rotation="x")


def test_training_from_a_rotated_model_keeps_the_rotation(tiny_decoder, triplet_file, tmp_path):
    from embedtune.data.triplets import read_triplets
    from embedtune.training.trainer import Trainer
    from tests.conftest import tiny_config

    emb = Embedder.load(tiny_decoder)
    r = fit_rotation(emb.encode(_texts()))
    emb.rotate(r, "80 test texts")
    emb.save(tmp_path / "rotated")
    cfg = tiny_config(tmp_path, tmp_path / "rotated", warmup_steps=1, max_steps=2, seed=1)
    Trainer(cfg, read_triplets(triplet_file)).train()
    trained = Embedder.load(tmp_path / "run")
    assert trained.config.rotation == "80 test texts"
    assert np.array_equal(trained.rotation.numpy(), r)  # a buffer, not a trained weight
