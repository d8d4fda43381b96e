"""Figures from benchmarks/wordnet_accuracy.py's results.

Usage: python benchmarks/plots.py --work=/tmp/wordnet [--epochs=20]
(needs matplotlib: pip install 'topk-distill[bench]')

Writes benchmarks/figures/p_at_1_vs_bytes.png: test P@1 (mean ± std over
seeds) of every kind of stored target against the teacher bytes it stores
per labeled example (log x-axis), labeled records alone, with dense targets
and hard labels as lines; and benchmarks/figures/loss_terms.png, the
per-epoch loss terms of the full method (seed 0); and, from students.py's
and fasttext_peer.py's results, benchmarks/figures/p_at_1_vs_latency.png:
test P@1 of every student, the teacher and fastText against p50 latency at
batch 1 (log x-axis). From fine_tuned_students.py's results (--teacher=bundle)
and serving_bench.py --architectures --json=benchmarks/figures/
serving_fine_tuned.json: p_at_1_vs_latency_fine_tuned.png, the students of
the fine-tuned teacher and the teacher; from benchmarks/figures/
transfer_size.json (measured points, with their command):
p_at_1_vs_transfer_size.png. Only results of the current code version are
drawn.
"""

import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wordnet_accuracy as accuracy  # noqa: E402
import numpy as np  # noqa: E402
from topk_distill.inputs import labels_file  # noqa: E402
from topk_distill.utils import json_files

FIGURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "figures")
MARKERS = {"top": "o", "sampled": "s", "mixed": "D"}


def p_at_1_vs_bytes(rows):
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for name, summary, sizes, _ in rows:
        if "unlabeled" in name or name in ("dense", "hard labels only"):
            continue
        kind = next(k for k in MARKERS if name.startswith(k))
        mean, std = summary["p@1"]
        axes.errorbar([sizes[0]], [mean], yerr=[std], marker=MARKERS[kind],
                      capsize=3, linestyle="none", label=name)
        axes.annotate(name, (sizes[0], mean), textcoords="offset points",
                      xytext=(5, 4), fontsize=7)
    for name, style in (("dense", "--"), ("hard labels only", ":")):
        found = [r for r in rows if r[0] == name]
        if found:
            axes.axhline(found[0][1]["p@1"][0], linestyle=style,
                         color="gray", label=f"{name} (dense: "
                         f"{found[0][2][0]:,.0f} B)" if name == "dense" else
                         name)
    axes.set_xscale("log")
    axes.set_xlabel("teacher bytes per labeled example (log scale)")
    axes.set_ylabel("test P@1 (3 seeds)")
    axes.set_title("WordNet (N = 4,123): what each kind of target teaches")
    axes.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    figure.savefig(os.path.join(FIGURES, "p_at_1_vs_bytes.png"), dpi=120)


def loss_terms(results, name, epochs, version):
    run = results.get(f"{name}|0|{epochs}|{version}")
    if not run:
        return
    figure, axes = plt.subplots(figsize=(6, 4))
    for term in ("hard_loss", "soft_loss", "pseudo_loss", "loss"):
        axes.plot(range(1, epochs + 1), run["history"][term], label=term)
    axes.set_xlabel("epoch")
    axes.set_ylabel("training loss (epoch mean)")
    axes.set_title(f"{name}: the three loss terms")
    axes.legend()
    figure.tight_layout()
    figure.savefig(os.path.join(FIGURES, "loss_terms.png"), dpi=120)


def p_at_1_vs_latency(work):
    """Every student of students.py (and fastText, and the teacher): test
    P@1 against p50 latency at batch 1."""
    import fasttext_peer
    import students

    results = json_files.read_json(os.path.join(work, "students.json")) or {}
    rows = students.summarize(results, ["teacher"] + list(students.CONFIGS),
                              students.code_version())
    peers = fasttext_peer.summarize(
        json_files.read_json(os.path.join(work, "fasttext.json")) or {})
    if not rows:
        return 0
    figure, axes = plt.subplots(figsize=(7.5, 5))
    for name, row in rows:
        distilled = "hard" not in name or "+" in name
        style = dict(marker="*" if name == "teacher" else
                     "o" if distilled else "s",
                     color="black" if name == "teacher" else
                     "tab:blue" if distilled else "tab:gray")
        axes.errorbar([row["p50"] * 1e3], [row["p@1"][0]],
                      yerr=[row["p@1"][1]], capsize=3, linestyle="none",
                      **style)
        axes.annotate(name, (row["p50"] * 1e3, row["p@1"][0]),
                      textcoords="offset points", xytext=(5, 3), fontsize=6)
    for name, row in peers:
        axes.errorbar([row["p50"] * 1e3], [row["p1"][0]],
                      yerr=[row["p1"][1]], marker="^", color="tab:red",
                      capsize=3, linestyle="none")
        axes.annotate(f"fastText: {name}", (row["p50"] * 1e3, row["p1"][0]),
                      textcoords="offset points", xytext=(5, 3), fontsize=6)
    axes.set_xscale("log")
    axes.set_xlabel("p50 latency at batch 1, ms (log scale)")
    axes.set_ylabel("test P@1")
    axes.set_title("WordNet (N = 4,123): students, teacher and fastText "
                   "(blue: distilled, gray: hard labels)", fontsize=9)
    figure.tight_layout()
    figure.savefig(os.path.join(FIGURES, "p_at_1_vs_latency.png"), dpi=120)
    return len(rows) + len(peers)


def transfer_size(path):
    """Test P@1 of the winning student against the transfer set's size
    (FILE: the measured points, with their command and code version), the
    teacher and the baseline as lines."""
    measured = json_files.read_json(path)
    if not measured:
        return 0
    figure, axes = plt.subplots(figsize=(6, 4))
    sizes = [p["size"] for p in measured["distilled"]]
    axes.plot(sizes, [p["p@1"] for p in measured["distilled"]], marker="o",
              color="tab:blue", label=measured["student"])
    for name, style in (("teacher", "--"), ("baseline", ":")):
        axes.axhline(measured[name]["p@1"], linestyle=style, color="gray",
                     label=measured[name]["name"])
    axes.set_xticks(sizes, [f"{s:g}x" for s in sizes])
    axes.set_xlabel("transfer set (unlabeled glosses and augmented copies) "
                    "/ labeled split", fontsize=8)
    axes.set_ylabel(f"test P@1 ({measured['seeds']} seed)")
    axes.set_title(f"WordNet: more augmented transfer data ({measured['date']})",
                   fontsize=9)
    axes.legend(fontsize=7, loc="center right")
    figure.tight_layout()
    figure.savefig(os.path.join(FIGURES, "p_at_1_vs_transfer_size.png"),
                   dpi=120)
    return len(sizes)


# fine_tuned_students.py configurations drawn, and the student kind each is
FINE_TUNED_STUDENTS = {
    "baseline: labels only": "mean",
    "ft vectors: labels only": "mean",
    "ft vectors: infold + unlabeled": "mean",
    "transformer: labels only": "transformer",
    "transformer: infold + unlabeled": "transformer",
}


def p_at_1_vs_latency_fine_tuned(work, serving_path, version=None,
                                 teacher="bundle"):
    """The students of the fine-tuned teacher (fine_tuned_students.py's
    results of the current code version, validation 0) and the teacher:
    test P@1 against p50 latency at batch 1 (serving_bench.py
    --architectures --json: each student kind in the demo's shape).
    `version`: the code version whose results to draw (default: the
    current one)."""
    import fine_tuned_students

    results = json_files.read_json(os.path.join(work,
                                             "fine_tuned_students.json"))
    served = json_files.read_json(serving_path)
    if not results or not served:
        return 0
    version = version or fine_tuned_students.code_version()
    latency = {name.split("(")[-1].rstrip(")"): row["p50_ms"]
               for name, row in served["models"].items()}
    points = []
    for name, kind in FINE_TUNED_STUDENTS.items():
        found = [v["p@1"] for k, v in results.items()
                 if k.startswith(f"{teacher} v0|{name}|")
                 and k.endswith(f"|{version}")]
        if found and kind in latency:
            points.append((name, kind, sum(found) / len(found), len(found)))
    if not points:
        return 0
    figure, axes = plt.subplots(figsize=(7.5, 4.8))
    bundle = fine_tuned_students.BUNDLE
    _, labels = labels_file.read_labeled(
        os.path.join(bundle, "test.tsv"),
        labels_file.read_labels(os.path.join(bundle, "labels.txt")))
    teacher_p1 = float(np.mean(fine_tuned_students.teacher_test_top1()
                               == labels_file.class_ids(labels)))
    axes.plot([latency["teacher"]], [teacher_p1], marker="*", markersize=12,
              color="black", linestyle="none")
    axes.annotate(f"teacher (fine-tuned MiniLM) {teacher_p1:.3f}",
                  (latency["teacher"], teacher_p1),
                  textcoords="offset points", xytext=(-150, -12), fontsize=7)
    for name, kind, p1, seeds in points:
        distilled = "labels only" not in name
        axes.plot([latency[kind]], [p1], linestyle="none",
                  marker="o" if distilled else "s",
                  color="tab:blue" if distilled else "tab:gray")
        axes.annotate(f"{name} {p1:.3f} ({seeds} seed{'s' * (seeds > 1)})",
                      (latency[kind], p1), textcoords="offset points",
                      xytext=(6, -3), fontsize=7)
    axes.set_xscale("log")
    axes.set_xlabel("p50 latency at batch 1, ms (SavedModel serving_default,"
                    " log scale)")
    axes.set_ylabel("test P@1")
    axes.set_title("WordNet (N = 4,123): students of the fine-tuned teacher "
                   "(blue: distilled, gray: labels only)", fontsize=9)
    figure.tight_layout()
    figure.savefig(os.path.join(FIGURES,
                                "p_at_1_vs_latency_fine_tuned.png"), dpi=120)
    return len(points) + 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", required=True)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--full_method", default="sampled20 + unlabeled "
                        "soft20", help="configuration whose loss terms "
                        "loss_terms.png shows")
    parser.add_argument("--serving", default=os.path.join(
        FIGURES, "serving_fine_tuned.json"), help="serving_bench.py "
        "--architectures --json output")
    parser.add_argument("--fine_tuned_version", default=None,
                        help="fine_tuned_students.py's code version to draw "
                        "(default: the current one)")
    args = parser.parse_args()
    os.makedirs(FIGURES, exist_ok=True)
    drawn = transfer_size(os.path.join(FIGURES, "transfer_size.json"))
    if drawn:
        print(f"wrote {FIGURES}/p_at_1_vs_transfer_size.png ({drawn} sizes)")
    drawn = p_at_1_vs_latency_fine_tuned(args.work, args.serving,
                                         args.fine_tuned_version)
    if drawn:
        print(f"wrote {FIGURES}/p_at_1_vs_latency_fine_tuned.png "
              f"({drawn} models)")
    results = json_files.read_json(os.path.join(args.work, "accuracy.json"))
    if not results:
        return
    made = accuracy.make_records(args.work)
    version = accuracy.code_version()
    rows = accuracy.table(results, list(accuracy.CONFIGS), args.epochs,
                          version, made)
    p_at_1_vs_bytes(rows)
    loss_terms(results, args.full_method, args.epochs, version)
    print(f"wrote {FIGURES}/p_at_1_vs_bytes.png and loss_terms.png "
          f"({len(rows)} configurations)")
    drawn = p_at_1_vs_latency(args.work)
    if drawn:
        print(f"wrote {FIGURES}/p_at_1_vs_latency.png ({drawn} models)")


if __name__ == "__main__":
    main()
