#!/bin/bash
# minilm-l6 fine-tuned on SciFact's train split, with and without mined hard negatives: the
# same recipe (configs/scifact-minilm-l6.yaml), the same 80 steps of 32, the same held-out dev
# queries; both scored on SciFact and ArguAna test after training. The negatives are mined
# with minilm-l6 itself (its SciFact corpus embeddings come from the corpus cache when an
# evaluation made them).
#
#   EMBEDTUNE_DATA_DIR=../shared/data bash benchmarks/retrieval_finetune.sh
#
# Results: runs/scifact-minilm-l6{,-mined}/ (report.md, after.json); light files are copied
# to benchmarks/results/retrieval/.
set -euo pipefail
cd "$(dirname "$0")/.."
et=".venv/bin/embedtune"
out=benchmarks/results/retrieval
mkdir -p runs/mined "$out"
$et mine --model minilm-l6 --dtype fp32 --data retrieval/scifact:train --dev-queries 100 \
    --dev-corpus 1000 --negatives 2 --skip-top 3 --margin 0.95 \
    --output runs/mined/scifact-minilm-l6.jsonl
cp runs/mined/scifact-minilm-l6.jsonl.summary.json "$out/mined-scifact-minilm-l6.summary.json"
$et train --config configs/scifact-minilm-l6.yaml --data runs/mined/scifact-minilm-l6.jsonl \
    --dev-task retrieval/scifact:train --output-dir runs/scifact-minilm-l6-mined
$et train --config configs/scifact-minilm-l6.yaml --output-dir runs/scifact-minilm-l6
for run in scifact-minilm-l6-mined scifact-minilm-l6; do
  mkdir -p "$out/$run"
  cp runs/$run/{report.json,report.md,after.json,metrics.jsonl,run.json} "$out/$run/"
done
