"""Figures from benchmarks/wordnet_accuracy.py's results.

Usage: python benchmarks/plots.py --work=/tmp/wordnet [--epochs=20]
(needs matplotlib: pip install 'topk-distill[bench]')

Writes benchmarks/figures/p_at_1_vs_k.png (test P@1, mean ± std over seeds,
against K, with the hard-label and dense lines) and
benchmarks/figures/loss_terms.png (per-epoch training loss terms of the
full method, seed 0).
"""

import argparse
import json
import os
import statistics

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FIGURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "figures")


def runs(results, name, epochs):
    return [v for k, v in results.items()
            if k.startswith(name + "|") and k.endswith(f"|{epochs}")]


def mean_std(values):
    return statistics.mean(values), (statistics.stdev(values)
                                     if len(values) > 1 else 0.0)


def p_at_1_vs_k(results, epochs):
    ks, means, stds = [], [], []
    for k in (1, 5, 20, 100):
        found = [r["p@1"] for r in runs(results, f"top-{k}", epochs)]
        if found:
            m, s = mean_std(found)
            ks.append(k), means.append(m), stds.append(s)
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.errorbar(ks, means, yerr=stds, marker="o", capsize=3,
                  label="top-K distillation (labeled split)")
    for name, style in (("dense (K=N)", "--"), ("hard labels only", ":")):
        found = [r["p@1"] for r in runs(results, name, epochs)]
        if found:
            axes.axhline(statistics.mean(found), linestyle=style, color="gray",
                         label=name)
    axes.set_xscale("log")
    axes.set_xlabel("K (teacher scores kept per example)")
    axes.set_ylabel("test P@1")
    axes.set_title("WordNet (N = 4,123): student P@1 vs K")
    axes.legend()
    figure.tight_layout()
    figure.savefig(os.path.join(FIGURES, "p_at_1_vs_k.png"), dpi=120)


def loss_terms(results, epochs):
    run = results.get(f"top-20 + unlabeled|0|{epochs}")
    if not run:
        return
    figure, axes = plt.subplots(figsize=(6, 4))
    for term in ("hard_loss", "soft_loss", "pseudo_loss", "loss"):
        axes.plot(range(1, epochs + 1), run["history"][term], label=term)
    axes.set_xlabel("epoch")
    axes.set_ylabel("training loss (batch mean)")
    axes.set_title("Top-20 + unlabeled: the three loss terms")
    axes.legend()
    figure.tight_layout()
    figure.savefig(os.path.join(FIGURES, "loss_terms.png"), dpi=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", required=True)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    results = json.load(open(os.path.join(args.work, "accuracy.json")))
    os.makedirs(FIGURES, exist_ok=True)
    p_at_1_vs_k(results, args.epochs)
    loss_terms(results, args.epochs)


if __name__ == "__main__":
    main()
