#!/usr/bin/env bash
# End to end on the bundled sample (24 WordNet classes): train the reference
# teacher, then keep its top-5 scores for the labeled split and its top-1
# pseudo label for the test split used as unlabeled text.
# Usage: bash examples/quickstart.sh [WORKDIR]   (topk-distill on PATH)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${1:-runs/quickstart}"
topk-distill teacher --input="$here/data/sample_train.tsv" \
  --output="$work/teacher" --epochs=30
topk-distill preprocess --teacher="$work/teacher/teacher.keras" \
  --labels="$work/teacher/labels.txt" --input="$here/data/sample_train.tsv" \
  --output="$work/records/train" --top_k=5 --num_shards=2
topk-distill preprocess --teacher="$work/teacher/teacher.keras" \
  --labels="$work/teacher/labels.txt" --input="$here/data/sample_test.tsv" \
  --unlabeled --top_h=1 --output="$work/records/unlabeled" --num_shards=1
echo "records in $work/records"
