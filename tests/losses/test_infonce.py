import math

import pytest
import torch

from embedtune.losses import InfoNCELoss


def _formula(a, p, n, t):
    """The study's Eq. 3 (Eq. 2 without n), written out with loops."""
    cos = torch.nn.functional.cosine_similarity
    total = 0.0
    for i in range(len(a)):
        num = math.exp(cos(a[i], p[i], dim=0).item() / t)
        den = sum(math.exp(cos(a[i], p[j], dim=0).item() / t) for j in range(len(p)))
        if n is not None:
            den += sum(math.exp(cos(a[i], n[j], dim=0).item() / t) for j in range(len(n)))
        total += -math.log(num / den)
    return total / len(a)


@pytest.mark.parametrize("hard", [True, False])
@pytest.mark.parametrize("t", [0.05, 0.5])
def test_loss_equals_the_formula(hard, t):
    g = torch.Generator().manual_seed(0)
    a, p, n = (torch.randn(6, 16, generator=g, dtype=torch.float64) for _ in range(3))
    loss = InfoNCELoss(t, hard_negatives=hard)(a, p, n)
    assert loss.item() == pytest.approx(_formula(a, p, n if hard else None, t), rel=1e-5)


def test_negatives_absent_means_in_batch_only():
    a, p = torch.randn(4, 8), torch.randn(4, 8)
    assert InfoNCELoss()(a, p, None).item() == pytest.approx(
        InfoNCELoss(hard_negatives=False)(a, p, torch.randn(4, 8)).item()
    )


def test_label_offset_selects_the_gathered_positive():
    a, p = torch.randn(2, 8), torch.randn(6, 8)
    # anchors 0,1 of "rank 1" own positives 2,3 of the gathered block
    loss = InfoNCELoss(0.1)(a, p, None, label_offset=2)
    logits = (
        torch.nn.functional.normalize(a, dim=-1) @ torch.nn.functional.normalize(p, dim=-1).T / 0.1
    )
    assert loss.item() == pytest.approx(
        torch.nn.functional.cross_entropy(logits, torch.tensor([2, 3])).item(), rel=1e-6
    )


def test_bad_temperature():
    with pytest.raises(ValueError):
        InfoNCELoss(0.0)


@pytest.mark.parametrize("hard", [True, False])
def test_masked_candidates_leave_the_denominator(hard):
    """The masked loss equals the formula with those candidates removed."""
    g = torch.Generator().manual_seed(1)
    a, p, n = (torch.randn(4, 8, generator=g, dtype=torch.float64) for _ in range(3))
    mask = torch.zeros(4, 8, dtype=torch.bool)
    mask[0, 1] = mask[2, 0] = mask[1, 6] = True  # two positives, one hard negative
    loss = InfoNCELoss(0.1, hard_negatives=hard)(a, p, n, false_negatives=mask)
    cos = torch.nn.functional.cosine_similarity
    total = 0.0
    for i in range(4):
        cands = [p[j] for j in range(4) if not mask[i, j]]
        if hard:
            cands += [n[j] for j in range(4) if not mask[i, 4 + j]]
        den = sum(math.exp(cos(a[i], c, dim=0).item() / 0.1) for c in cands)
        total += -math.log(math.exp(cos(a[i], p[i], dim=0).item() / 0.1) / den)
    assert loss.item() == pytest.approx(total / 4, rel=1e-6)
    assert loss.item() < InfoNCELoss(0.1, hard_negatives=hard)(a, p, n).item()
