#!/bin/bash
# Alternating rounds of the recipe's training step (gemma3-270m, batch 32, bf16, LoRA q/v):
# padded, packed rows of 96, packed + compiled layers from a cold inductor cache, and the
# same again warm (the cache the cold run just filled). Each a fresh process, steps 1-8 of
# the recipe's batches (benchmarks/mfu_profile.py). Usage:
#   EMBEDTUNE_DATA_DIR=... bash benchmarks/training_speed_rounds.sh ROUNDS OUTDIR
set -euo pipefail
rounds=${1:-3}
out=${2:-benchmarks/results/compile}
py=${PYTHON:-.venv/bin/python}
mkdir -p "$out"
for r in $(seq 1 "$rounds"); do
  common=(benchmarks/mfu_profile.py --batch 32 --steps 8 --no-flops)
  "$py" "${common[@]}" --output "$out/round$r-padded.json"
  "$py" "${common[@]}" --pack-tokens 96 --output "$out/round$r-packed.json"
  cache=$(mktemp -d)  # a cold cache: what the first run on a machine pays
  TORCHINDUCTOR_CACHE_DIR=$cache "$py" "${common[@]}" --pack-tokens 96 --compile layers \
      --output "$out/round$r-compiled-cold.json"
  TORCHINDUCTOR_CACHE_DIR=$cache "$py" "${common[@]}" --pack-tokens 96 --compile layers \
      --output "$out/round$r-compiled-warm.json"
  rm -rf "$cache"
done
