#!/bin/bash
# A model fine-tuned on SciFact's train split, with and without mined hard negatives: the
# same recipe (configs/scifact-MODEL.yaml), the same steps, the same held-out dev queries;
# both scored on SciFact and ArguAna test after training (the test split is never used for
# selection). The negatives are mined once, with minilm-l6 (cheap, and a better retriever
# than a base decoder before training), and reused for every model; its SciFact corpus
# embeddings come from the corpus cache when an evaluation made them.
#
#   EMBEDTUNE_DATA_DIR=../shared/data bash benchmarks/retrieval_finetune.sh [MODEL [RUNS [TASKS]]]
#
# MODEL: minilm-l6 (default) or gemma3-270m. RUNS: "mined inbatch" (default), or one of them,
# or "after-nli" (gemma3-270m): two stages, the in-batch run started from the STS recipe with
# mean pooling trained on NLI triplets first (the beyond-the-study run beyond/mean of
# benchmarks/reproduce.py, trained by its "model" action if runs/ lacks it); the
# 30-minute budget counts both stages. "after-nli-bidirectional": the same from
# beyond/bidirectional-mean (causal mask lifted in both stages). "after-nli-mined": the mined
# run started from beyond/mean, the recipe's 32 steps under a time cap of what the NLI stage
# left of the 30 minutes (its report's train_seconds).
# TASKS: the test tasks scored after training, "scifact,arguana" (default); "scifact" alone
# saves gemma3-270m ~24 minutes of ArguAna encoding when only the mining gain is wanted.
# Results: runs/scifact-MODEL{-mined,}/ (report.md, after.json); light files are copied to
# benchmarks/results/retrieval/.
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-minilm-l6}"
runs="${2:-mined inbatch}"
tasks="${3:-scifact,arguana}"
et=".venv/bin/embedtune"
out=benchmarks/results/retrieval
mined=runs/mined/scifact-minilm-l6.jsonl
mkdir -p runs/mined "$out"
if [ ! -f "$mined" ]; then
  $et mine --model minilm-l6 --dtype fp32 --data retrieval/scifact:train --dev-queries 100 \
      --dev-corpus 1000 --negatives 2 --skip-top 3 --margin 0.95 --output "$mined"
  cp "$mined.summary.json" "$out/mined-scifact-minilm-l6.summary.json"
fi
for kind in $runs; do
  run="scifact-$model"
  extra=()
  if [ "$kind" = mined ]; then
    run="$run-mined"
    extra=(--data "$mined" --dev-task retrieval/scifact:train)
  elif [[ "$kind" == after-nli* ]]; then
    run="$run-$kind"
    stage=beyond/mean
    [ "$kind" = after-nli-bidirectional ] && stage=beyond/bidirectional-mean
    nli=runs/reproduce/$stage
    # trains the NLI stage into runs/ when its weights are missing (a fresh clone has its
    # committed results only), with the grid's own flags
    PATH=.venv/bin:$PATH .venv/bin/python benchmarks/reproduce.py model --only "$stage"
    extra=(--model "$nli")
    if [ "$kind" = after-nli-mined ]; then
      left=$(python3 -c "import json; print(round(30 - json.load(open('$nli/report.json'))['train_seconds'] / 60, 1))")
      extra+=(--data "$mined" --dev-task retrieval/scifact:train --max-minutes "$left")
    fi
  fi
  $et train --config "configs/scifact-$model.yaml" "${extra[@]}" --output-dir "runs/$run"
  if [ ! -f "runs/$run/after.json" ]; then
    # the recipe leaves the test tasks out of training (eval_tasks ''): score them here at
    # the evaluation length, not the training one
    $et evaluate --model "runs/$run" --tasks "$tasks" --max-length 512 \
        --output "runs/$run/after.json"
  fi
  mkdir -p "$out/$run"
  cp runs/$run/{report.json,report.md,after.json,metrics.jsonl,run.json} "$out/$run/"
done
