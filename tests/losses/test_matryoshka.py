import pytest
import torch

from embedtune.errors import ConfigError
from embedtune.losses import InfoNCELoss, MatryoshkaLoss
from embedtune.losses.matryoshka import check_dims


def _embeddings(seed=0, b=6, d=16):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(b, d, generator=g, requires_grad=True) for _ in range(3)]


def test_gradients_equal_the_weighted_sum_of_per_prefix_losses():
    a, p, n = _embeddings()
    dims, weights = [16, 8, 4], [1.0, 0.5, 2.0]
    base = InfoNCELoss(0.05)
    MatryoshkaLoss(base, dims, weights)(a, p, n).backward()
    got = [t.grad.clone() for t in (a, p, n)]
    for t in (a, p, n):
        t.grad = None
    manual = sum(w * base(a[:, :d], p[:, :d], n[:, :d]) for d, w in zip(dims, weights))
    manual.backward()
    for g, t in zip(got, (a, p, n)):
        assert torch.allclose(g, t.grad, atol=1e-6)


def test_a_prefix_is_scored_as_a_truncated_and_renormalised_vector():
    a, p, n = _embeddings(1)
    base = InfoNCELoss(0.05)
    unit = [torch.nn.functional.normalize(t[:, :5], dim=-1) for t in (a, p, n)]
    assert torch.allclose(MatryoshkaLoss(base, [5])(a, p, n), base(*unit), atol=1e-6)


@pytest.mark.parametrize(
    "dims, weights, model_dim, key",
    [
        ([64, 128], None, 640, "strictly descending"),
        ([64, 64], None, 640, "strictly descending"),
        ([1024, 64], None, 640, "above the model's 640"),
        ([64, 0], None, 640, "positive integers"),
        ([64, 32], [1.0], 640, "`matryoshka_weights` has 1 values for 2"),
        (None, [1.0], 640, "needs `matryoshka_dims`"),
    ],
)
def test_bad_dims_name_the_key(dims, weights, model_dim, key):
    with pytest.raises(ConfigError, match=key):
        check_dims(dims, weights, model_dim)
