"""The benchmark scripts must keep running (tiny sizes, CPU) so they cannot rot."""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parents[1] / "benchmarks"


def test_gpu_throughput_runs_tiny_on_cpu():
    r = subprocess.run(
        [
            sys.executable,
            str(BENCH / "gpu_throughput.py"),
            "--tiny",
            "--steps",
            "2",
            "--batch",
            "4",
            "--seq",
            "8",
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["arch"] == "tiny" and result["triplets_per_s"] > 0
