"""Text records written by two checkouts: byte for byte the same?

Usage:
  python benchmarks/same_records.py --tree=/tmp/old --out=/tmp/same_old
  python benchmarks/same_records.py --tree=. --out=/tmp/same_new
  (then compare the printed SHA-256s)

Writes, with the package of --tree, four record sets of the bundled sample
(examples/data/sample_train.tsv: top-K, q8, sampled and unlabeled targets)
from one fixed reference teacher (made once, seeded, at --teacher) and
prints each shard's SHA-256. Equal hashes: the checkouts write the same
records, so training from them gives the same results.
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
    import keras

    import topk_distill  # public names only: they work in both checkouts

    print("package:", os.path.dirname(topk_distill.__file__))
    data = os.path.join(ROOT, "examples", "data", "sample_train.tsv")
    path = os.path.join(args.teacher, "teacher.keras")
    labels = os.path.join(args.teacher, "labels.txt")
    if not os.path.exists(path):
        os.makedirs(args.teacher, exist_ok=True)
        keras.utils.set_random_seed(0)
        names = sorted({name for _, labels in topk_distill.iter_examples(
            data) for name in labels})
        texts = [line.split("\t")[0] for line in open(data)]
        topk_distill.make_teacher(texts, len(names)).save(path)
        topk_distill.write_labels(labels, names)
    for name, settings in (("topk", {}), ("q8", dict(score_dtype="q8")),
                           ("sampled", dict(targets="sampled", samples=8)),
                           ("unlabeled", dict(unlabeled=True, top_k=3))):
        topk_distill.preprocess(topk_distill.load_teacher(path), data, labels,
                                os.path.join(args.out, name), num_shards=2,
                                overwrite=True, verbose=0, **settings)
    for shard in sorted(glob.glob(os.path.join(args.out, "*.tfrecord"))):
        with open(shard, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        print(os.path.basename(shard), digest[:16])


if __name__ == "__main__":
    main()
