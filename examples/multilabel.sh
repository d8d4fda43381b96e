#!/usr/bin/env bash
# Multi-label end to end on the bundled multi-label sample (1,000 WordNet
# glosses, each labelled with its ancestors among 40 classes: 500 training,
# 100 validation, 200 unlabeled, 200 test): an encoder teacher with a
# per-class sigmoid head (all-MiniLM-L6-v2 frozen, cross-fitted), its
# top-10 sigmoid logits for the training glosses and its top-5
# probabilities for the unlabeled ones, a student distilled from them and
# the same student on the labels alone (each with its threshold chosen on
# the validation glosses), both evaluated on the test glosses, a few texts
# classified.
# Usage: ENCODER=DIR bash examples/multilabel.sh [WORKDIR]
#   topk-distill on PATH; DIR an encoder checkpoint folder (README,
#   "Teachers"). The sample: examples/data/make_multilabel_sample.py.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${1:-runs/multilabel}"
topk-distill teacher --input="$here/data/multilabel_train.tsv" \
  --output="$work/teacher" --encoder="$ENCODER" --multi_label \
  --cross_fit_folds=2 --epochs=60 --validation="$here/data/multilabel_valid.tsv" \
  --overwrite
topk-distill preprocess --teacher="$work/teacher/cross_fit_logits.npy" \
  --input="$here/data/multilabel_train.tsv" --output="$work/records/train" \
  --top_k=10 --num_shards=2 --overwrite
topk-distill preprocess --teacher="$work/teacher" \
  --input="$here/data/multilabel_unlabeled.tsv" --unlabeled --top_h=5 \
  --output="$work/records/unlabeled" --num_shards=1 --overwrite
topk-distill train --labeled="$work/records/train-*" \
  --unlabeled="$work/records/unlabeled-*" --output="$work/distilled" \
  --validation="$here/data/multilabel_valid.tsv" --epochs=40 \
  --learning_rate=0.01 --batch_size=32 --alpha=0.9 --beta=0.5 --temperature=2
topk-distill train --labeled="$work/records/train-*" --baseline=hard \
  --output="$work/labels_only" --validation="$here/data/multilabel_valid.tsv" \
  --epochs=40 --learning_rate=0.01 --batch_size=32
topk-distill evaluate --model="$work/distilled/export" \
  --test="$here/data/multilabel_test.tsv" --latency_repeats=20
topk-distill evaluate --model="$work/labels_only/export" \
  --test="$here/data/multilabel_test.tsv" --latency_repeats=20
topk-distill classify --model="$work/distilled/export" \
  "a young dog kept as a pet" "an edible fruit with a hard shell"
