#!/bin/bash
# Repeat the 2-process gradient check (tests/training/dist_worker.py, torchrun, gloo) N times
# while a CPU burner multiplies matrices, and count the runs that failed. This is how the rare
# SIGABRT at exit ("terminate called without an active exception") was caught and how its fix
# (parallel.end_process) was checked; see benchmarks/RESULTS.md, Scale.
#
#   bash benchmarks/dist_exit_loop.sh 60 [CHECKOUT]    # CHECKOUT: the tree to test (default: this)
#
# Writes OUT/summary.txt (one "run i rc N" line each) and keeps the log of each failed run.
set -u
n=${1:-30}
repo=$(cd "${2:-$(dirname "$0")/..}" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-/tmp/embedtune-exit-loop}
python=${PYTHON:-$here/.venv/bin/python}
rm -rf "$out" && mkdir -p "$out"
PYTHONPATH=$here "$python" - "$out" <<'PY'
import sys
from pathlib import Path

from tests.conftest import build_tiny_decoder

out = Path(sys.argv[1])
build_tiny_decoder(out / "decoder")
rows = [("a man is playing a guitar", "a man plays music", "a man is sleeping"),
        ("two dogs run in the park", "dogs are running outside", "two dogs sleep inside"),
        ("the child reads a book", "a child is reading", "the child is singing"),
        ("a cat sleeps on the table", "a cat is sleeping", "a cat is running")] * 8
(out / "triplets.tsv").write_text(
    "anchor\tpositive\tnegative\n" + "".join("\t".join(r) + "\n" for r in rows))
PY
"$python" -c "
import os, torch
torch.set_num_threads(2)
a = torch.randn(1500, 1500)
while not os.path.exists('$out/done'):
    a = (a @ a).tanh()
" &
export PYTHONPATH=$repo/src:$repo OMP_NUM_THREADS=1 PYTHONFAULTHANDLER=1
failed=0
for i in $(seq 1 "$n"); do
  "$python" -m torch.distributed.run --standalone --nproc-per-node 2 \
    "$repo/tests/training/dist_worker.py" "$out/decoder" "$out/triplets.tsv" "$out/grads.pt" 1 0 \
    > "$out/log-$i.txt" 2>&1
  rc=$?
  echo "run $i rc $rc" >> "$out/summary.txt"
  if [ $rc -eq 0 ]; then rm "$out/log-$i.txt"; else failed=$((failed + 1)); fi
done
touch "$out/done"
echo "$failed of $n runs failed ($out/summary.txt)"
