import pytest

from embedtune.training.schedule import lr_at


@pytest.mark.parametrize("warmup, total", [(0, 24), (5, 24), (100, 360), (1, 2)])
def test_every_update_has_a_positive_lr_and_the_decay_is_monotone(warmup, total):
    lrs = [lr_at(s, 3e-4, warmup, total) for s in range(total)]
    assert min(lrs) > 0  # the last update is not wasted at lr 0
    assert max(lrs) <= 3e-4 and (warmup == 0 or max(lrs) == pytest.approx(3e-4))
    peak = max(warmup - 1, 0)
    assert all(a >= b for a, b in zip(lrs[peak:], lrs[peak + 1 :]))
    assert all(a < b for a, b in zip(lrs[:peak], lrs[1 : peak + 1]))


def test_the_floor_is_approached_but_each_step_stays_above_it():
    lrs = [lr_at(s, 1.0, 2, 10, min_ratio=0.1) for s in range(10)]
    assert all(x > 0.1 for x in lrs) and lrs[-1] < 0.15
