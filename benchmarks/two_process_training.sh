#!/usr/bin/env bash
# Issue #5: a 2-process CPU run (torchrun, gloo) of gemma3-270m on the real triplets against a
# single-process run of the same global batch (32 triplets, same seed, so the same triplets at
# every step), 60 steps, STS-B dev every 20 steps. Prints both curves and the differences.
#   EMBEDTUNE_DATA_DIR=../shared/data bash benchmarks/two_process_training.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${EMBEDTUNE_DATA_DIR:?set EMBEDTUNE_DATA_DIR to the data folder}"
common=(--config configs/cpu-gemma3-270m.yaml --max-steps 60 --max-minutes 60 --eval-every 20
        --save-every 1000 --eval-tasks stsb-dev --pack-tokens 0 --no-compile)  # as measured
rm -rf runs/scale-2proc runs/scale-1proc
torchrun --standalone --nproc-per-node 2 -m embedtune train "${common[@]}" --output-dir runs/scale-2proc
embedtune train "${common[@]}" --output-dir runs/scale-1proc
out=benchmarks/results/two-process
mkdir -p "$out"
for run in scale-2proc scale-1proc; do
    mkdir -p "$out/$run"
    cp runs/$run/{report.json,run.json,metrics.jsonl} "$out/$run/"
done
python - "$out" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
two, one = (json.loads((out / r / "report.json").read_text()) for r in ("scale-2proc", "scale-1proc"))
print("| step | 2 processes x 16 | 1 process x 32 | difference |\n|---:|---:|---:|---:|")
for a, b in zip(two["eval_history"], one["eval_history"]):
    print(f"| {a['step']} | {a['spearman']:.2f} | {b['spearman']:.2f} | {a['spearman'] - b['spearman']:+.2f} |")
print(f"training seconds: 2 processes {two['train_seconds']}, 1 process {one['train_seconds']}")
PY
