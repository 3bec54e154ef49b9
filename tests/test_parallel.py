"""parallel.end_process: how a process that joined a process group ends."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from embedtune import parallel

WORKER = textwrap.dedent(
    """
    import logging, sys
    import torch
    from embedtune import parallel
    parallel.init_from_env()
    t = torch.ones(4)
    parallel.all_reduce_sum(1.0)
    torch.distributed.all_reduce(t)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    logging.getLogger("worker").info("logged by rank %d", parallel.rank())
    print(f"printed by rank {parallel.rank()}", end="")  # no newline: only a flush shows it
    code = 3 if parallel.rank() == 1 else 0
    parallel.shutdown()
    parallel.end_process(code)
    print("end_process returned")
    """
)


def test_end_process_does_nothing_in_a_process_that_never_joined_a_group():
    assert parallel.end_process(0) is None


def test_end_process_exits_with_the_code_after_flushing_prints_and_logs(tmp_path):
    script = Path(tmp_path, "worker.py")
    script.write_text(WORKER)
    logs = tmp_path / "logs"
    repo_src = str(Path(__file__).parents[1] / "src")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [repo_src, env.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    cmd += ["--log-dir", str(logs), "--redirects", "3", script.as_posix()]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0  # rank 1 ended with code 3
    out = {p.parent.name + "/" + p.name: p.read_text() for p in logs.rglob("std*.log")}
    for rank in (0, 1):
        (stdout,) = [t for name, t in out.items() if name.startswith(f"{rank}/stdout")]
        (stderr,) = [t for name, t in out.items() if name.startswith(f"{rank}/stderr")]
        assert stdout == f"printed by rank {rank}"
        assert f"logged by rank {rank}" in stderr
    assert "exitcode  : 3" in r.stderr
    assert "returned" not in "".join(out.values())
