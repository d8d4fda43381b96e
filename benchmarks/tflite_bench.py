"""A trained student as it ships: SavedModel, TFLite, quantised TFLite.

Usage:
  python benchmarks/tflite_bench.py --model=runs/demo/distilled/student.keras \
    [--test=topk_distill/data/wordnet/test.tsv] [--runs=2000] [--repeats=3]

Exports the student three ways and measures each on the test split: the
SavedModel (`saved_model.export_saved_model`, raw text in, serving_default),
the TFLite token-id variant (`tflite_export.export_tflite(token_ids=True)`,
builtin ops only), and the same with post-training dynamic-range
quantisation (int8 weights). For each: p50 and p99 latency at batch 1
(alternated in rounds, --repeats rounds of --runs calls; the TFLite
timings exclude tokenisation, which the app does: its cost is printed
apart), size on disk and test P@1 (all test texts), and the P@1 change
against the SavedModel.
"""

import argparse
import os
import sys
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from topk_distill.inputs import labels_file
from topk_distill.models import saved_model
from topk_distill.models import tflite_export

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--test", default=os.path.join(
        ROOT, "topk_distill", "data", "wordnet", "test.tsv"))
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    model = keras.models.load_model(args.model)
    labels_path = os.path.join(os.path.dirname(args.model), "labels.txt")
    names = labels_file.read_labels(labels_path)
    texts, labels = labels_file.read_labeled(args.test, names)
    labels = labels_file.class_ids(labels)
    vectorize = next(layer for layer in model.layers if isinstance(
        layer, keras.layers.TextVectorization))
    ids = vectorize(tf.constant(texts)).numpy()
    folder = tempfile.mkdtemp()
    saved = os.path.join(folder, "export")
    saved_model.export_saved_model(model, saved, names)
    served = tf.saved_model.load(saved).signatures["serving_default"]
    runners, sizes = {}, {"SavedModel": saved_model.saved_model_size(saved)}
    for name, quantize in (("TFLite", False), ("TFLite int8", True)):
        path = tflite_export.export_tflite(model, os.path.join(folder, name),
                                           token_ids=True, quantize=quantize)
        runners[name] = tf.lite.Interpreter(path).get_signature_runner()
        sizes[name] = os.path.getsize(path)

    def call(name, i):
        if name == "SavedModel":
            return served(text=tf.constant([texts[i]]))["top_ids"].numpy()
        return runners[name](token_ids=ids[i:i + 1])["top_ids"]

    top1 = {name: np.array([call(name, i)[0, 0] for i in range(len(texts))])
            for name in sizes}
    times = {name: [] for name in sizes}
    for _ in range(args.repeats):
        for name in sizes:
            for i in range(args.runs):
                start = time.perf_counter()
                call(name, i % len(texts))
                times[name].append(time.perf_counter() - start)
    start = time.perf_counter()
    for i in range(args.runs):
        vectorize(tf.constant([texts[i % len(texts)]]))
    tokenize = (time.perf_counter() - start) / args.runs
    print(f"machine: {os.cpu_count()} cores; {args.model}; "
          f"{len(texts):,} test texts; {args.repeats} x {args.runs} calls")
    print("| format | p50 batch 1 (ms) | p99 (ms) | size (MB) | test P@1 "
          "| P@1 change |")
    print("|---|---|---|---|---|---|")
    base = np.mean(top1["SavedModel"] == labels)
    for name in sizes:
        p1 = np.mean(top1[name] == labels)
        print(f"| {name} | {np.percentile(times[name], 50) * 1e3:.3f} | "
              f"{np.percentile(times[name], 99) * 1e3:.3f} | "
              f"{sizes[name] / 1e6:.2f} | {p1:.4f} | {p1 - base:+.4f} |")
    print(f"(TFLite rows exclude tokenisation: Keras TextVectorization "
          f"takes {tokenize * 1e3:.3f} ms per text here; top-1 agreement "
          f"with the SavedModel: " + ", ".join(
              f"{n} {np.mean(top1[n] == top1['SavedModel']):.4f}"
              for n in runners) + ")")


if __name__ == "__main__":
    sys.exit(main())
