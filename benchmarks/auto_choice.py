"""`train --student=auto` on a dataset: does it pick the student that is
best on test, and how far is each candidate from the teacher?

Usage:
  python benchmarks/auto_choice.py --data=wordnet --work=/tmp/auto_wordnet \
    [--seeds=3] [--init=fine_tuned|pretrained] [--rounds=5] [--report]
  python benchmarks/auto_choice.py --data=/tmp/debian --work=/tmp/auto_debian

The data, validation half and test half are defaults.py's (the dataset's
test split, permuted with seed 0: the teacher saw neither half). Each seed
runs `selection.choose_student` (the candidates of `--student=auto`, the
labeled records and the unlabeled set's, `train`'s default loss and fit,
--init's student-init vectors for the candidates that start from them)
keeping every candidate, then measures each candidate's P@1 on the test
half. Latency: the teacher (all-MiniLM-L6-v2 + a linear head as a
SavedModel; its weights do not change its speed) and each candidate's
SavedModel answer single texts of the test half, alternated in --rounds
rounds (teacher, candidate, teacher, candidate...); per round the p50 of
each; the speed-up is the median of the rounds' ratios (min, max).
Results are cached in WORK/auto.json by seed and code version.
`--figure=PATH --from=WordNet=WORK1,Debian=WORK2` draws each run's seed 0:
P@1 on the test half against latency (log scale), the teacher and every
candidate on the labels alone and distilled (needs matplotlib).
"""

import argparse
import os
import statistics
import sys

import numpy as np

import common
import defaults
import latency
import wordnet_accuracy
from topk_distill.distillation import selection, training_config
from topk_distill.distillation.loss_config import LossConfig

from topk_distill.utils import json_files

ROOT = latency.ROOT

# The candidates' colours, the same in every panel.
ORDER = ["mean", "bigram", "init frozen", "init frozen classes",
         "init frozen hidden512"]
MODULES = defaults.MODULES + ("selection", "training", "training_config",
                              "saved_model")


def teacher_test_top1(data, sets):
    """The teacher's P@1 on the test half (its stored test scores)."""
    import fine_tuned_students

    labels = sets[5][1]
    if data == "wordnet":
        best = fine_tuned_students.teacher_test_top1()
    else:
        best = np.argmax(np.load(os.path.join(data, "fine_tuned",
                                              "test_logits.npy")), 1)
    order = np.random.default_rng(0).permutation(len(best))
    return float(np.mean(best[order[len(order) // 2:]] == labels))


def figure(path, works, encoder_works=None):
    """P@1 on the test half against p50 latency at batch 1 (log x), one
    panel per dataset: the teacher, each candidate on the labels alone
    (open) and distilled (filled), seed 0 of each WORK/auto.json; and, from
    `encoder_works` ({dataset: WORK of encoder_student.py}), each encoder
    student run (diamonds; P@1 the mean over its seeds), placed at the
    teacher's latency here divided by its own measured speed-up."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, axes = plt.subplots(1, len(works), figsize=(8 * len(works), 4.8))
    for ax, (name, work) in zip(np.atleast_1d(axes), works):
        results = json_files.read_json(os.path.join(work, "auto.json"))
        # seed 0 of the run with the most candidates (the newest code)
        result = max((v for k, v in results.items() if k.startswith("0|")),
                     key=lambda v: len(v["rows"]))
        for candidate in sorted({r["candidate"] for r in result["rows"]}):
            i = ORDER.index(candidate) if candidate in ORDER else 9
            for row in result["rows"]:
                if row["candidate"] != candidate:
                    continue
                filled = row["training"] == "distilled"
                ax.scatter(row["latency_ms"], row["test_top1"], s=50,
                           color=f"C{i}", facecolors=None if filled
                           else "none", label=f"{candidate}, "
                           f"{row['training']}")
        _encoder_points(ax, (encoder_works or {}).get(name),
                        result["teacher_ms"])
        ax.scatter(result["teacher_ms"], result["teacher_top1"], s=80,
                   marker="*", color="black", label="teacher (fine-tuned "
                   "all-MiniLM-L6-v2)")
        ax.set_xscale("log")
        ax.set_xticks([0.2, 0.5, 1, 2, 5, 10])
        ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("p50 latency at batch 1 (ms, log scale)")
        ax.set_ylabel("P@1, test half")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


def _encoder_points(ax, work, teacher_ms):
    """The encoder students of WORK/encoder.json (every run with a measured
    speed-up) on a panel: mean test P@1 at `teacher_ms` / speed-up."""
    if not work:
        return
    results = json_files.read_json(os.path.join(work, "encoder.json")) or {}
    # a run measured again under newer code (later in the file) replaces
    # the older version's rows
    newest = {}
    for key, row in results.items():
        if "speedup" in row:
            newest[row["run"]] = key.rsplit("|", 1)[1]
    runs = {}
    for key, row in results.items():
        if "speedup" in row and key.endswith("|" + newest[row["run"]]):
            runs.setdefault(row["run"], []).append(row)
    for run, mine in sorted(runs.items()):
        layers, choice = run.split()[:2]
        distilled, pretrained = "distilled" in run, "pretrained" in run
        ax.scatter(teacher_ms / mine[0]["speedup"][0],
                   np.mean([r["test_top1"] for r in mine]), s=45,
                   marker="D", color=f"C{5 + int(layers)}",
                   facecolors=None if distilled else "none",
                   alpha=0.5 if pretrained else 1.0,
                   label=f"encoder {layers} layers ({choice}"
                   f"{', pretrained' if pretrained else ''}), "
                   f"{'distilled' if distilled else 'labels only'}")


def run(args, sets, seed, valid_path):
    labeled, unlabeled, names, inits, valid, test = sets
    out = os.path.join(args.work, f"auto-{seed}")
    if os.path.exists(out):
        import shutil
        shutil.rmtree(out)
    ranked = selection.choose_student(
        out, labeled=labeled, validation=valid_path, unlabeled=unlabeled,
        loss=LossConfig(),
        student=training_config.StudentConfig(
            init_embeddings=inits[args.init]),
        fit=training_config.FitConfig(seed=seed, epochs=args.epochs),
        keep_candidates=True)
    for row in ranked:
        row["test_top1"] = defaults.test_top1(
            os.path.join(out, row["folder"]), test)
        print(f"{row['candidate']} ({row['training']}): valid "
              f"{row['val_top1']:.4f}, test {row['test_top1']:.4f}",
              flush=True)
    exports = {os.path.join(out, r["folder"], "export"): r for r in ranked}
    found, _, teacher_ms = latency.speedups(
        latency.teacher_export(args.work, len(names)), list(exports),
        test[0], args.rounds)
    for path, row in exports.items():
        row["speedup"] = found[path]
    return {"rows": ranked, "teacher_ms": teacher_ms,
            "teacher_top1": teacher_test_top1(args.data, sets)}


def report(results, version, seeds):
    found = [results[k] for k in sorted(results)
             if k.endswith(f"|{version}")][:seeds]
    if not found:
        return
    print(f"\n{len(found)} seeds; code version {version}\n")
    print("| seed | chosen | its valid P@1 | its test P@1 | best test P@1 "
          "(candidate) | chosen - best |")
    print("|---|---|---|---|---|---|")
    gaps = []
    for seed, result in enumerate(found):
        rows = result["rows"]
        chosen = rows[0]
        best = max(rows, key=lambda r: r["test_top1"])
        gaps.append(chosen["test_top1"] - best["test_top1"])
        print(f"| {seed} | {chosen['candidate']}, {chosen['training']} | "
              f"{chosen['val_top1']:.4f} | {chosen['test_top1']:.4f} | "
              f"{best['test_top1']:.4f} ({best['candidate']}, "
              f"{best['training']}) | {gaps[-1]:+.4f} |")
    print(f"\nmean chosen - best: {statistics.mean(gaps):+.4f}\n")
    print("| candidate | training | valid P@1 | test P@1 (mean over seeds) | "
          "p50 ms | speed-up over the teacher, median (min-max) |")
    print("|---|---|---|---|---|---|")
    keys = [(r["candidate"], r["training"]) for r in found[0]["rows"]]
    for key in sorted(keys):
        mine = [next(r for r in result["rows"]
                     if (r["candidate"], r["training"]) == key)
                for result in found]
        speed = mine[0]["speedup"]
        print(f"| {key[0]} | {key[1]} | "
              f"{statistics.mean(r['val_top1'] for r in mine):.4f} | "
              f"{statistics.mean(r['test_top1'] for r in mine):.4f} | "
              f"{mine[0]['latency_ms']:.2f} | {speed[0]:.1f}x "
              f"({speed[1]:.1f}-{speed[2]:.1f}) |")
    print(f"\nteacher p50 at batch 1: {found[0]['teacher_ms']:.2f} ms")
    rows = found[0]["rows"]
    for budget in sorted({round(r["latency_ms"] * 1.05, 2) for r in rows}):
        ranked, fits = selection.rank(rows, budget)
        if fits:
            print(f"--max_latency_ms={budget}: {ranked[0]['candidate']}, "
                  f"{ranked[0]['training']} ({ranked[0]['latency_ms']:.2f} "
                  f"ms, test {ranked[0]['test_top1']:.4f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data")
    parser.add_argument("--work")
    parser.add_argument("--figure", default=None,
                        help="PATH: draw P@1 against latency from --from")
    parser.add_argument("--from", dest="sources", default="",
                        help="NAME=WORK,...: the runs --figure draws")
    parser.add_argument("--encoder_from", default="",
                        help="NAME=WORK,...: encoder_student.py's runs "
                        "--figure adds")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--init", default="fine_tuned")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=None,
                        help="the cap (default: train's); for a quick try")
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    if args.figure:
        return figure(args.figure, [item.split("=", 1) for item in
                                    args.sources.split(",")],
                      dict(item.split("=", 1) for item in
                           args.encoder_from.split(",") if item))
    os.makedirs(args.work, exist_ok=True)
    version = wordnet_accuracy.code_version(
        MODULES, [os.path.abspath(__file__),
                  os.path.join(ROOT, "benchmarks", "defaults.py"),
                  os.path.join(ROOT, "benchmarks", "latency.py")])
    results = common.Results(os.path.join(args.work, "auto.json"), version)
    sets = defaults.dataset(args.data, args.work)
    valid_path = defaults.write_valid(args.work, sets[2], sets[4])
    for seed in range(0 if args.report else args.seeds):
        results.get_or_run((seed, args.epochs),
                           lambda: run(args, sets, seed, valid_path))
    results = results.data
    print(f"machine: {os.cpu_count()} cores; data {args.data}; "
          f"init {args.init}")
    report(results, version, args.seeds)


if __name__ == "__main__":
    sys.exit(main())
