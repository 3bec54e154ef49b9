"""Which device a process computes on (the multi-process arithmetic is tested in
tests/training/test_distributed.py)."""

import pytest
import torch

from embedtune import devices
from embedtune.config import TrainConfig
from embedtune.errors import ConfigError


def test_auto_is_the_cpu_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert devices.local_device("auto") == torch.device("cpu")
    assert devices.local_device("cpu") == torch.device("cpu")


def test_asking_for_a_gpu_without_cuda_says_what_to_do(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=r"`device` 'cuda:1'.*no CUDA GPU.*--device cpu"):
        devices.local_device("cuda:1")


@pytest.mark.parametrize("bad", ["gpu", "cuda:x", "cuda0", ""])
def test_a_misspelt_device_names_the_key(bad):
    with pytest.raises(ConfigError, match="`device` must be auto, cpu, cuda or cuda:N"):
        devices.local_device(bad)
    with pytest.raises(ConfigError, match="`device` must be auto, cpu, cuda or cuda:N"):
        TrainConfig(device=bad)


def test_other_accelerators_are_refused_by_name():
    with pytest.raises(ConfigError, match="only cpu and cuda"):
        devices.local_device("meta")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_bare_gpu_is_this_processs_own(monkeypatch):
    monkeypatch.setenv("LOCAL_RANK", "0")
    assert devices.local_device("auto") == torch.device("cuda", 0)
    assert devices.local_device("cuda") == torch.device("cuda", 0)
    assert torch.cuda.current_device() == 0
    assert not torch.backends.cuda.cudnn_sdp_enabled()  # a graph build per new text length
    monkeypatch.setenv("LOCAL_RANK", str(torch.cuda.device_count()))  # one past the last GPU
    with pytest.raises(ConfigError, match="GPU\\(s\\) are visible"):
        devices.local_device("cuda")
