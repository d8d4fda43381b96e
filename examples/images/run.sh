#!/usr/bin/env bash
# The method on images, end to end, offline: 48 classes of coloured shapes
# (make_images.py, 64x64 PNGs), a convolutional teacher trained on the
# labeled folder (measured on the test folder against the student trained
# on the labels alone),
# its top-5 logits for the labeled images and its top-1 pseudo label for
# the unlabeled ones, the small convolutional student distilled from them
# and the same student on the labels alone, both exported and evaluated.
# Usage: bash examples/images/run.sh [WORKDIR]   (topk-distill on PATH)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${1:-runs/images}"
python "$here/make_images.py" "$work/data" --labeled=40 --unlabeled=100 \
  --test=20
topk-distill teacher --input="$work/data/labeled" --output="$work/teacher" --overwrite \
  --validation="$work/data/test" --epochs=20 --batch_size=64 \
  --student_epochs=30
topk-distill preprocess --teacher="$work/teacher" \
  --input="$work/data/labeled" --output="$work/records/labeled" --top_k=5 \
  --num_shards=2 --overwrite
topk-distill preprocess --teacher="$work/teacher" \
  --input="$work/data/unlabeled" --unlabeled \
  --output="$work/records/unlabeled" --num_shards=2 --overwrite
topk-distill train --labeled="$work/records/labeled-*" \
  --unlabeled="$work/records/unlabeled-*" --output="$work/student" \
  --epochs=30 --learning_rate=0.003 --batch_size=64 --alpha=0.6 --beta=0.5
topk-distill train --labeled="$work/records/labeled-*" --baseline=hard \
  --output="$work/hard" --epochs=30 --learning_rate=0.003 --batch_size=64
topk-distill export --model="$work/teacher/teacher.keras" \
  --output="$work/teacher/export"
# train exported the student already; this export adds its TFLite files
topk-distill export --model="$work/student/student.keras" \
  --output="$work/student/export" --tflite --overwrite
topk-distill evaluate --model="$work/teacher/export" --test="$work/data/test"
topk-distill evaluate --model="$work/student/export" --test="$work/data/test"
topk-distill evaluate --model="$work/hard/export" --test="$work/data/test"
topk-distill classify --model="$work/student/export" \
  "$work/data/test/ring_blue/0000.png"
