"""The encoder student (`train --student=encoder`): how much of its teacher
it keeps, at what speed, and what its start and the records each give.

Usage:
  python benchmarks/encoder_student.py --data=wordnet \
    --encoder=/tmp/wordnet/fine_tuned/encoder \
    --teacher_weights=/tmp/wordnet/fine_tuned/full.weights.h5 \
    --work=/tmp/encoder_wordnet --runs="2 spread distilled;2 spread labels" \
    [--seeds=1] [--epochs=3] [--rounds=5] [--report]
  python benchmarks/encoder_student.py --data=/tmp/debian \
    --encoder=/tmp/debian/fine_tuned/encoder \
    --teacher_weights=/tmp/debian/fine_tuned/full.weights.h5 ...

The data, validation half and test half are defaults.py's (the dataset's
test split, permuted with seed 0: the teacher saw neither half); the
records are the labeled and unlabeled sets defaults.py trains on. A run
is "L CHOICE TRAINING [pretrained]": L of the encoder's layers
(`chosen_layers`: spread or first), trained on the labels alone
("labels") or distilled from the records ("distilled"), started from
--encoder (the fine-tuned teacher's layers and head) or, with
"pretrained", from all-MiniLM-L6-v2 as published (a random head): the
start's share against the records'. Each run is `training.train_student`
with `train`'s defaults for the encoder student (AdamW, warmup, cosine
decay over --epochs, early stopping on the validation half), then test
P@1 on the test half; its SavedModel's speed-up over the teacher
(latency.py: teacher and student alternated in --rounds rounds, single
texts of the test half). Results are cached in WORK/encoder.json by run,
seed, epochs and code version. The teacher's head, if --encoder lacks
one (a folder saved before heads were kept beside encoders), is taken
from --teacher_weights (the whole fine-tuned teacher's weights).
"""

import argparse
import os
import shutil
import sys
import time

import numpy as np

import common
import auto_choice
import defaults
import latency
import wordnet_accuracy
from topk_distill.distillation import training, training_config
from topk_distill.models import encoder_models, encoder_students, saved_model

from topk_distill.teachers import fine_tuning
from topk_distill.utils import json_files

MODULES = defaults.MODULES + ("training", "training_config",
                              "encoder_students", "bert_inputs",
                              "saved_model")


def ensure_head(encoder, weights, names):
    """Writes the fine-tuned teacher's linear head beside its encoder
    (`encoder_students.save_head`) from its whole weights, once."""
    if encoder_students.load_head(encoder) is not None or not weights:
        return
    teacher = encoder_models.make_encoder_teacher(latency.default_encoder(),
                                                  len(names), 64)
    teacher.load_weights(weights)
    print("wrote", encoder_students.save_head(teacher, encoder, names))


def parse(run):
    """"2 spread distilled [pretrained]" -> (2, "spread", True, False)."""
    words = run.split()
    return (int(words[0]), words[1], words[2] == "distilled",
            words[3:] == ["pretrained"])


def train_run(args, sets, valid_path, run, seed):
    labeled, unlabeled, names, _, _, test = sets
    layers, choice, distilled, pretrained = parse(run)
    out = os.path.join(args.work, run.replace(" ", "_") + f"-{seed}")
    if os.path.exists(out):
        shutil.rmtree(out)
    student = training_config.StudentConfig(
        architecture="encoder", student_layers=layers, layer_choice=choice,
        encoder=latency.default_encoder() if pretrained else args.encoder,
        teacher_head=not pretrained)
    start = time.perf_counter()
    history = training.train_student(
        out, labeled=labeled, unlabeled=unlabeled if distilled else None,
        validation=valid_path, baseline=None if distilled else "hard",
        student=student, fit=training_config.FitConfig(
            seed=seed, epochs=args.epochs), verbose=2)
    seconds = time.perf_counter() - start
    import keras

    model = keras.saving.load_model(os.path.join(out, "student.keras"))
    logits = fine_tuning.predict_by_length(model, np.array(test[0], object),
                                           verbose=0)
    kept = training.kept_epoch(history)
    row = dict(run=run, seed=seed, folder=out,
               val_top1=history.history["val_top1"][kept - 1],
               kept_epoch=kept, epochs=len(history.history["loss"]),
               test_top1=float(np.mean(logits.argmax(1) == test[1])),
               seconds=round(seconds),
               size_bytes=saved_model.saved_model_size(
                   os.path.join(out, "export")),
               parameters=int(model.count_params()))
    print(row, flush=True)
    return row


def report(results, teacher_top1, teacher_ms):
    print("| run | seeds | valid P@1 | test P@1 (mean; min-max) | of the "
          "teacher | kept epoch | p50 ms | speed-up, median (min-max) | "
          "SavedModel MB | train min |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    runs = {}
    for row in results.values():
        runs.setdefault(row["run"], []).append(row)
    for run, rows in sorted(runs.items(), key=lambda item: (
            parse(item[0])[0], item[0])):
        test = [r["test_top1"] for r in rows]
        speed = rows[0].get("speedup")
        print(f"| {run} | {len(rows)} | "
              f"{np.mean([r['val_top1'] for r in rows]):.4f} | "
              f"{np.mean(test):.4f} ({min(test):.4f}-{max(test):.4f}) | "
              f"{np.mean(test) / teacher_top1:.1%} | "
              f"{rows[0]['kept_epoch']} of {rows[0]['epochs']} | "
              + (f"{rows[0]['latency_ms']:.2f} | {speed[0]:.2f}x "
                 f"({speed[1]:.2f}-{speed[2]:.2f}) | " if speed else
                 "- | - | ")
              + f"{rows[0]['size_bytes'] / 1e6:.0f} | "
              f"{np.mean([r['seconds'] for r in rows]) / 60:.0f} |")
    print(f"\nteacher: test-half P@1 {teacher_top1:.4f}"
          + (f", p50 {teacher_ms:.2f} ms at batch 1" if teacher_ms else ""))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--encoder", required=True)
    parser.add_argument("--teacher_weights", default=None)
    parser.add_argument("--work", required=True)
    parser.add_argument("--runs", default="2 spread distilled")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    version = wordnet_accuracy.code_version(MODULES, [
        os.path.abspath(__file__),
        os.path.join(latency.ROOT, "benchmarks", "defaults.py")])
    path = os.path.join(args.work, "encoder.json")
    cache = common.Results(path, version)
    sets = defaults.dataset(args.data, args.work)
    names = sets[2]
    ensure_head(args.encoder, args.teacher_weights, names)
    valid_path = defaults.write_valid(args.work, names, sets[4])
    runs = [r.strip() for r in args.runs.split(";") if r.strip()]
    for run in [] if args.report else runs:
        for seed in range(args.seeds):
            cache.get_or_run((run, seed, args.epochs), lambda: train_run(
                args, sets, valid_path, run, seed))
    results, mine = cache.data, cache.mine()
    timed = {k: v for k, v in mine.items()
             if "speedup" not in v and os.path.isdir(v["folder"])}
    teacher_ms = next((v["teacher_ms"] for v in mine.values()
                       if "teacher_ms" in v), None)
    if timed and not args.report:
        exports = {os.path.join(v["folder"], "export"): k
                   for k, v in timed.items()}
        found, student_ms, teacher_ms = latency.speedups(
            latency.teacher_export(args.work, len(names)), list(exports),
            sets[5][0], args.rounds)
        for export, key in exports.items():
            results[key].update(speedup=found[export],
                                latency_ms=student_ms[export],
                                teacher_ms=teacher_ms)
        json_files.write_json(path, results)
    print(f"machine: {os.cpu_count()} cores; data {args.data}; code "
          f"version {version}\n")
    report({k: v for k, v in results.items() if k.endswith(f"|{version}")},
           auto_choice.teacher_test_top1(args.data, sets), teacher_ms)


if __name__ == "__main__":
    sys.exit(main())
