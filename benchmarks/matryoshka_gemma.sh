#!/bin/bash
# gemma3-270m trained with the STS recipe with and without Matryoshka, the same steps and seed,
# scored at 640, 320, 160, 80 and 40 dimensions (prefixes, re-normalised, one encoding) on the
# nine STS tasks and on SciFact and ArguAna (512 tokens).
#
#   EMBEDTUNE_DATA_DIR=../shared/data bash benchmarks/matryoshka_gemma.sh [PARTS]
#
# PARTS: any of "train sts retrieval" (default: all three), so the long retrieval scoring
# (~45 min per model on a 2-core CPU) can run in a later session.
# "without" is the beyond-the-study baseline (benchmarks/reproduce.py, cell beyond/baseline:
# today's recipe, STS-B dev every 60 steps), trained here if missing; "with" is the same
# command with --matryoshka-dims. Both must run the recipe's full step count: a run stopped by
# the 30-minute cap would give the two arms different steps, so the "with" arm has no cap and
# the script refuses a capped baseline. Results: benchmarks/results/matryoshka/.
# MATRYOSHKA_WEIGHTS=4,1,1,1,1 trains (and scores) a second "with" arm whose loss weighs the
# dims so (named with-w4-1-1-1-1), to trade the small prefixes against the full size.
# MATRYOSHKA_STEPS=909 pairs a "with" arm of that many steps (named with...-909-steps) with
# the grid's full-epoch run (benchmarks/reproduce.py, cell beyond/full-epoch: the recipe at 909
# steps, the same seed) instead of the 360-step baseline: with the packed, compiled step a
# whole epoch fits in 30 minutes, and the prefixes may need the extra steps more than the
# full size does.
# A score file already in the results folder is not made again (delete it to rescore).
set -euo pipefail
cd "$(dirname "$0")/.."
parts="${1:-train sts retrieval}"
py=.venv/bin/python
et=.venv/bin/embedtune
dims=640,320,160,80,40
out=benchmarks/results/matryoshka
steps="${MATRYOSHKA_STEPS:-}"
cell=baseline
weights="${MATRYOSHKA_WEIGHTS:-}"
suffix=""
weight_flags=()
step_flags=()
if [ -n "$weights" ]; then
  suffix="-w${weights//,/-}"
  weight_flags=(--matryoshka-weights "$weights")
fi
if [ -n "$steps" ]; then
  cell=full-epoch
  suffix="$suffix-$steps-steps"
  step_flags=(--max-steps "$steps")
fi
without=runs/reproduce/beyond/$cell
without_record=benchmarks/results/reproduce/beyond/$cell  # committed; a fresh clone has no weights
label="with$suffix"
with="runs/matryoshka/gemma3-270m$suffix"
mkdir -p "$out"

steps_of() {  # the steps a finished run trained
  $py -c 'import json,sys; print(json.load(open(sys.argv[1]))["steps"])' "$1/report.json"
}

if [[ " $parts " == *" train "* ]]; then
  # The step check needs only the baseline's report, which is committed; its weights are
  # needed only to score the "without" arm, and its score files are committed too.
  [ -f "$without_record/report.json" ] || $py benchmarks/reproduce.py run --only "beyond/$cell"
  planned=${steps:-$($py -c 'import yaml; print(yaml.safe_load(open("configs/cpu-gemma3-270m.yaml"))["max_steps"])')}
  trained=$(steps_of "$without_record")
  if [ "$trained" != "$planned" ]; then
    echo "the baseline stopped at $trained of $planned steps (time cap):" \
         "the arms would differ in steps; not training the Matryoshka arm" >&2
    exit 1
  fi
  PATH="$(pwd)/.venv/bin:$PATH" $et train --config configs/cpu-gemma3-270m.yaml \
      --no-eval-before --eval-every 60 --save-every 60 --max-minutes 600 \
      --matryoshka-dims "$dims" "${weight_flags[@]}" "${step_flags[@]}" --output-dir "$with" --resume
  mkdir -p "$out/$label-run"
  cp "$with"/{report.json,report.md,after.json,metrics.jsonl,run.json} "$out/$label-run/"
fi

for arm in "without${steps:+-$steps-steps}" "$label"; do
  [[ "$arm" == without* ]] && run=$without || run=$with
  if [ ! -d "$run" ]; then  # the committed baselines' weights are not in a fresh clone
    echo "no weights in $run: not scoring the $arm arm at each size" >&2
    continue
  fi
  if [[ " $parts " == *" sts "* ]] && [ ! -f "$out/$arm-sts.json" ]; then
    $et evaluate --model "$run" --tasks all --dims "$dims" --output "$out/$arm-sts.json"
  fi
  if [[ " $parts " == *" retrieval "* ]] && [ ! -f "$out/$arm-retrieval.json" ]; then
    $et evaluate --model "$run" --tasks retrieval --max-length 512 --dims "$dims" \
        --output "$out/$arm-retrieval.json"
  fi
done
