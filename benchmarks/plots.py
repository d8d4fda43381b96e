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
batch 1 (log x-axis). Only results of the current code version are drawn.
"""

import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wordnet_accuracy as accuracy  # noqa: E402
from topk_distill import records  # noqa: E402

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

    results = records.read_json(os.path.join(work, "students.json")) or {}
    rows = students.summarize(results, ["teacher"] + list(students.CONFIGS),
                              students.code_version())
    peers = fasttext_peer.summarize(
        records.read_json(os.path.join(work, "fasttext.json")) or {})
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", required=True)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--full_method", default="sampled20 + unlabeled "
                        "soft20", help="configuration whose loss terms "
                        "loss_terms.png shows")
    args = parser.parse_args()
    results = records.read_json(os.path.join(args.work, "accuracy.json"))
    made = accuracy.make_records(args.work)
    version = accuracy.code_version()
    rows = accuracy.table(results, list(accuracy.CONFIGS), args.epochs,
                          version, made)
    os.makedirs(FIGURES, exist_ok=True)
    p_at_1_vs_bytes(rows)
    loss_terms(results, args.full_method, args.epochs, version)
    print(f"wrote {FIGURES}/p_at_1_vs_bytes.png and loss_terms.png "
          f"({len(rows)} configurations)")
    drawn = p_at_1_vs_latency(args.work)
    if drawn:
        print(f"wrote {FIGURES}/p_at_1_vs_latency.png ({drawn} models)")


if __name__ == "__main__":
    main()
