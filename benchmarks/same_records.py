"""Text records written by two checkouts: byte for byte the same?

Usage:
  python benchmarks/same_records.py --tree=/tmp/old --out=/tmp/same_old
  python benchmarks/same_records.py --tree=. --out=/tmp/same_new
  (then compare the printed SHA-256s)

Writes, with the package of --tree, four record sets of the bundled sample
(examples/data/sample_train.tsv: top-K, q8, sampled and unlabeled targets)
from one fixed reference teacher, and two multi-label sets of the bundled
multi-label sample (examples/data/multilabel_train.tsv, labeled and
unlabeled) from another read as a sigmoid teacher (each made once,
seeded, in --teacher), and prints each shard's SHA-256. Equal hashes: the
checkouts write the same records, so training from them gives the same
results. The class names are read from the files directly, so that any
checkout's API serves.
"""

import argparse
import glob
import hashlib
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", default=ROOT)
    parser.add_argument("--out", required=True)
    parser.add_argument("--teacher", default="/tmp/same_records_teacher")
    args = parser.parse_args()
    sys.path.insert(0, os.path.abspath(args.tree))
    import topk_distill  # public names only: they work in both checkouts

    print("package:", os.path.dirname(topk_distill.__file__))
    single = _teacher(args.teacher, "sample_train.tsv", "single")
    multi = _teacher(args.teacher, "multilabel_train.tsv", "multi")
    runs = [(single, "logits", name, settings) for name, settings in (
        ("topk", {}), ("q8", dict(score_dtype="q8")),
        ("sampled", dict(targets="sampled", samples=8)),
        ("unlabeled", dict(unlabeled=True, top_k=3)))] + [
        (multi, "sigmoid_logits", name, settings) for name, settings in (
            ("multi", {}), ("multi_unlabeled", dict(unlabeled=True,
                                                    top_k=3)))]
    for (data, path, labels), outputs, name, settings in runs:
        topk_distill.preprocess(topk_distill.load_teacher(path, outputs),
                                data, labels, os.path.join(args.out, name),
                                num_shards=2, overwrite=True, verbose=0,
                                **settings)
    for shard in sorted(glob.glob(os.path.join(args.out, "*.tfrecord"))):
        with open(shard, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        print(os.path.basename(shard), digest[:16])


def _teacher(folder, name, kind):
    """`(input, teacher.keras, labels.txt)`: a reference teacher of the
    bundled `name`'s classes (its label column split at `|`), made once."""
    import keras

    import topk_distill

    data = os.path.join(ROOT, "examples", "data", name)
    path = os.path.join(folder, f"{kind}.keras")
    labels = os.path.join(folder, f"{kind}_labels.txt")
    if not os.path.exists(path):
        os.makedirs(folder, exist_ok=True)
        keras.utils.set_random_seed(0)
        rows = [line.rstrip("\n").split("\t") for line in open(data)]
        names = sorted({label for row in rows for label in row[1].split(
            "|")} if kind == "multi" else {row[1] for row in rows})
        topk_distill.make_teacher([row[0] for row in rows],
                                  len(names)).save(path)
        topk_distill.write_labels(labels, names)
    return data, path, labels


if __name__ == "__main__":
    main()
