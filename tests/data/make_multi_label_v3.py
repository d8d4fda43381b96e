"""Writes `tests/data/multi_label_v3/`: a multi-label record set (format
version 3) as topk-distill 0.2.0 writes it, and what it was made from.

Run once, at the commit that added it, with
`python tests/data/make_multi_label_v3.py`; its outputs are kept so that
`tests/test_compatibility.py` can check that later versions still read
them (the labels against `input.tsv`, the top-K against `scores.npy`).
It uses only public names.
"""

import os

import numpy as np

import topk_distill

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                    "multi_label_v3")
NAMES = ["animal", "food", "pet", "plant", "tool"]
ROWS = [("a small dog", "animal|pet"), ("fresh bread", "food"),
        ("a grey cat", "pet|animal"), ("a tall tree", "plant"),
        ("ripe apple", "food|plant"), ("a heavy hammer", "tool")]


def main():
    os.makedirs(HERE, exist_ok=True)
    labels = os.path.join(HERE, "labels.txt")
    topk_distill.write_labels(labels, NAMES)
    with open(os.path.join(HERE, "input.tsv"), "w") as f:
        f.writelines(f"{text}\t{tags}\n" for text, tags in ROWS)
    logits = np.random.default_rng(0).normal(
        0, 3, (len(ROWS), len(NAMES))).astype(np.float32)
    np.save(os.path.join(HERE, "scores.npy"), logits)
    topk_distill.preprocess(
        topk_distill.load_teacher(os.path.join(HERE, "scores.npy"),
                                  "sigmoid_logits"),
        os.path.join(HERE, "input.tsv"), labels,
        os.path.join(HERE, "labeled"), top_k=3, num_shards=2,
        score_dtype="float32", verbose=0)


if __name__ == "__main__":
    main()
