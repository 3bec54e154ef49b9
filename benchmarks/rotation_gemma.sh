#!/bin/bash
# `embedtune rotate` on the two whole-epoch gemma3-270m models of matryoshka_gemma.sh (the
# STS recipe and Matryoshka with weights 4,1,1,1,1, 909 steps each, seed 42), scored at 640,
# 320, 160, 80 and 40 dimensions like the unrotated ones:
#
#   EMBEDTUNE_DATA_DIR=../shared/data bash benchmarks/rotation_gemma.sh [PARTS]
#
# PARTS: any of "sts retrieval" (default: both).
# sts: each model rotated by a fit on 10,000 NLI premises (the training file's anchor column,
#      texts the model was trained on, none of the STS test sets), then the nine STS tasks.
# retrieval: each model rotated by a fit on the task's own corpus (its documents' text, as a
#      user fits on the corpus to be searched; no queries, no relevance labels), at 512 tokens,
#      then that task.
# The models come from `MATRYOSHKA_STEPS=909 [MATRYOSHKA_WEIGHTS=4,1,1,1,1] bash
# benchmarks/matryoshka_gemma.sh train` and `python benchmarks/reproduce.py model --only
# beyond/full-epoch`. Results: benchmarks/results/rotation/ (a score file already there is not
# made again).
set -euo pipefail
cd "$(dirname "$0")/.."
parts="${1:-sts retrieval}"
data="${EMBEDTUNE_DATA_DIR:?set EMBEDTUNE_DATA_DIR to the data root}"
et=.venv/bin/embedtune
dims=640,320,160,80,40
out=benchmarks/results/rotation
mkdir -p "$out" runs/rotation
declare -A source=(
  [recipe-909-steps]=runs/reproduce/beyond/full-epoch
  [matryoshka-w4-1-1-1-1-909-steps]=runs/matryoshka/gemma3-270m-w4-1-1-1-1-909-steps
)
for arm in matryoshka-w4-1-1-1-1-909-steps recipe-909-steps; do
  model=${source[$arm]}
  if [ ! -d "$model" ]; then
    echo "no weights in $model: train it first (see the header)" >&2
    continue
  fi
  if [[ " $parts " == *" sts "* ]] && [ ! -f "$out/$arm-sts.json" ]; then
    $et rotate --model "$model" --input "$data/nli/triplets.tsv" --column anchor \
        --output "runs/rotation/$arm-nli" | tee "$out/$arm-nli.rotate.txt"
    $et evaluate --model "runs/rotation/$arm-nli" --tasks all --dims "$dims" \
        --output "$out/$arm-sts.json"
  fi
  for task in scifact arguana; do
    if [[ " $parts " == *" retrieval "* ]] && [ ! -f "$out/$arm-$task.json" ]; then
      if [ ! -f "runs/rotation/$arm-$task/embedtune.json" ]; then  # a rotated model is kept
        $et rotate --model "$model" --max-length 512 --input "$data/retrieval/$task/corpus.jsonl" \
            --role document --output "runs/rotation/$arm-$task" | tee "$out/$arm-$task.rotate.txt"
      fi
      $et evaluate --model "runs/rotation/$arm-$task" --tasks "$task" --max-length 512 \
          --dims "$dims" --output "$out/$arm-$task.json"
    fi
  done
done
