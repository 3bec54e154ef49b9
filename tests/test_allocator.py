"""embedtune.allocator: freed large blocks are reused without the kernel faulting them in again."""

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from embedtune.allocator import ENV

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")

# allocate and touch 64 MiB, free it, then count the page faults of touching 60 MiB. Smaller,
# so the freed block fits it wherever the heap put a small object since (posix_memalign asks
# a little more than the size; the same size fits only when the freed block bordered the top)
PROBE = """
import resource, torch
from embedtune.allocator import keep_freed_memory
applied = keep_freed_memory()
def touch(mib):
    t = torch.empty(mib << 20, dtype=torch.uint8)
    t.fill_(1)
touch(64)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
touch(60)
print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""
PAGES = (60 << 20) // 4096


def _probe(keep: str) -> tuple[bool, int]:
    env = dict(os.environ, **{ENV: keep})
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    applied, faults = out.stdout.split()
    return applied == "True", int(faults)


def test_freed_memory_is_reused_without_page_faults():
    applied, faults = _probe("1")
    assert applied and faults < PAGES // 20  # ~0: the block is reused as it is


def test_opting_out_leaves_glibc_defaults():
    applied, faults = _probe("0")
    assert not applied
    thp = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    if not (thp.is_file() and "[always]" in thp.read_text()):  # 4 KiB pages: each one faults
        assert faults > PAGES // 2
