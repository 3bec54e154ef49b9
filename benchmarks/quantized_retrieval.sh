#!/bin/bash
# One model's retrieval at each stored precision: float32, int8, binary, and binary with the
# top 4 x 100 candidates rescored (float query x int8 documents), each written to
# benchmarks/results/quantized/NAME-PRECISION.json with nDCG@10 and bytes per vector. The
# corpus is embedded once (the corpus cache serves the other precisions); only the queries
# are embedded again each time.
#
#   EMBEDTUNE_DATA_DIR=../shared/data bash benchmarks/quantized_retrieval.sh MODEL NAME [EXTRA...]
#
# MODEL: a named model, folder or run; EXTRA: more `embedtune evaluate` flags, e.g.
# `--max-length 512 --dims 640,320,160,80,40` (every prefix is then stored at the same
# precision) or `--dtype fp32`.
set -euo pipefail
cd "$(dirname "$0")/.."
model="$1"
name="$2"
shift 2
out=benchmarks/results/quantized
mkdir -p "$out"
for precision in float32 int8 ubinary "ubinary --rescore 4"; do
  tag="${precision// --rescore /-rescore}"
  # shellcheck disable=SC2086  # "ubinary --rescore 4" is two flags
  .venv/bin/embedtune evaluate --model "$model" --tasks scifact,arguana --precision $precision \
      "$@" --output "$out/$name-$tag.json"
done
