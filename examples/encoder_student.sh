#!/usr/bin/env bash
# The encoder student on the bundled WordNet records: the fine-tuned
# teacher's embeddings, 2 of its 6 transformer layers (spread over its
# depth: its layers 0 and 3) and its classification head, its WordPiece
# tokenizer inside the model, distilled from the bundled labeled and
# unlabeled records (AdamW, warmup, cosine decay over 3 epochs, kept at its
# best epoch on the first half of the bundled test glosses), evaluated on
# the other half, exported (a SavedModel, and a TFLite file that takes
# WordPiece ids), and a few texts classified.
# Usage: ENCODER=DIR bash examples/encoder_student.sh [WORKDIR]
#   topk-distill on PATH; DIR the fine-tuned teacher's encoder folder:
#   examples/wordnet/fine_tune_teacher.py writes WORK/fine_tuned/encoder,
#   `topk-distill teacher --fine_tune` OUTPUT/encoder (each with the
#   teacher's head beside it). DATA=FOLDER reads records of the same names
#   from elsewhere. About 30 minutes on 2 cores (BENCHMARKS.md, "The
#   teacher's own layers as the student").
set -euo pipefail
data="${DATA:-$(python -c 'import os, topk_distill; print(os.path.dirname(topk_distill.__file__))')/data/wordnet}"
work="${1:-runs/encoder_student}"
mkdir -p "$work"
half=$(( $(wc -l < "$data/test.tsv") / 2 ))
head -n "$half" "$data/test.tsv" > "$work/valid.tsv"
tail -n "+$(( half + 1 ))" "$data/test.tsv" > "$work/test.tsv"
topk-distill train --labeled="$data/labeled_sampled" \
  --unlabeled="$data/unlabeled_soft" --validation="$work/valid.tsv" \
  --student=encoder --encoder="$ENCODER" --student_layers=2 \
  --output="$work/student"
topk-distill evaluate --model="$work/student/export" --test="$work/test.tsv"
topk-distill export --model="$work/student/student.keras" \
  --output="$work/export" --top_n=3 --tflite --overwrite
topk-distill classify --model="$work/export" \
  "a large natural stream of water" "a small songbird"
