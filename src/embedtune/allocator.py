"""Keep freed memory inside the process instead of handing it back to the kernel (glibc).

Why: glibc serves every allocation above its mmap threshold (32 MiB at most) with a fresh
``mmap`` and unmaps it on ``free``, so the next tensor of that size is faulted in again page
by page and the kernel zeroes each page first. Training on long texts allocates such tensors
many times a step (gemma3-270m on SciFact's 256-token abstracts, 96 texts a step: one float32
RMSNorm activation is 63 MiB), and ``perf`` put 31.6 % of that training process's CPU samples
in the kernel's ``clear_page_erms``. With ``mmap`` off for the heap and trimming off, freed
blocks stay mapped and are reused without faults when a later tensor fits one (posix_memalign
asks a little more than the size, so a same-size tensor fits only a block that borders the
heap's top or its free neighbours: minor faults fell 5.3 M -> 2.1 M, not to zero). The peak
resident memory stays the same (the same tensors are alive at the peak); memory is only not
returned between steps. benchmarks/RESULTS.md ("Keeping
freed memory") has the measurements.

It is a process-wide setting of the C library, so the command line applies it at start
(``embedtune`` and its evaluation child); a library user calls :func:`keep_freed_memory`
once. ``EMBEDTUNE_KEEP_FREED_MEMORY=0`` leaves glibc's defaults.
"""

from __future__ import annotations

import ctypes
import os
import platform

ENV = "EMBEDTUNE_KEEP_FREED_MEMORY"
_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
_M_MMAP_MAX = -4
_INT_MAX = 2**31 - 1


def keep_freed_memory() -> bool:
    """Turn glibc's ``mmap`` of large blocks and heap trimming off for this process; returns
    whether the settings were applied (False off glibc, or when the environment opts out)."""
    if os.environ.get(ENV, "1") == "0" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process already runs on
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, _INT_MAX))
