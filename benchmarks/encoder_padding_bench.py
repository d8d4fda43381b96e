"""Encoder teacher: every text padded to --sequence_length ("fixed") vs
each batch padded to its longest text ("longest",
`encoder_models.make_encoder_teacher(pad_to_longest=)`), and that with batches
of texts of similar length ("sorted": `fine_tuning.length_batches` for
fine-tuning, texts sorted by length for scoring).

Usage:
  python benchmarks/encoder_padding_bench.py --tsv=../shared/data/wordnet_noun_glosses.tsv \
    --examples=2048 --sequence_length=128 --rounds=3

Texts are the first --examples of a TSV (text in column --column). Per
round, the three ways alternate (in reverse on odd rounds): scoring (Keras
`predict`, batch --batch_size, input order, as `preprocess` runs) and
fine-tuning (all layers, batch --train_batch, shuffled, --train_examples
texts, `fine_tuning.fine_tune`'s recipe). Prints texts/s of each and
the median of the paired ratios (against fixed) with min and max, and how
far the two ways' logits are apart on the same weights (max |diff|, top-1
agreement).
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples",
                                "wordnet"))
from embed import default_encoder  # noqa: E402


def read_texts(path, column, count):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t")[column]
                for _, line in zip(range(count), f)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tsv", required=True)
    parser.add_argument("--column", type=int, default=1)
    parser.add_argument("--examples", type=int, default=2048)
    parser.add_argument("--train_examples", type=int, default=512)
    parser.add_argument("--sequence_length", type=int, default=128)
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--train_batch", type=int, default=32)
    parser.add_argument("--classes", type=int, default=4123)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--encoder", default=None)
    args = parser.parse_args()

    import keras

    from topk_distill.models import encoder_models
    from topk_distill.teachers import fine_tuning

    texts = np.array(read_texts(args.tsv, args.column, args.examples), object)
    labels = np.arange(len(texts)) % args.classes
    encoder = args.encoder or default_encoder()
    built = {way: encoder_models.make_encoder_teacher(
        encoder, args.classes, args.sequence_length,
        pad_to_longest=way == "longest") for way in ("fixed", "longest")}
    built["longest"].set_weights(built["fixed"].get_weights())
    a = built["fixed"].predict(texts[:512], batch_size=64, verbose=0)
    b = built["longest"].predict(texts[:512], batch_size=64, verbose=0)
    print(f"logits on the same weights: max |diff| {np.abs(a - b).max():.2e}, "
          f"top-1 agreement {np.mean(a.argmax(1) == b.argmax(1)):.4f}")
    ways = ("fixed", "longest", "sorted")
    rates = {(way, part): [] for way in ways for part in ("score", "tune")}
    by_length = np.argsort([len(t) for t in texts], kind="stable")
    for r in range(args.rounds):
        for way in ways if r % 2 == 0 else ways[::-1]:
            model = built["fixed" if way == "fixed" else "longest"]
            start = time.perf_counter()
            model.predict(texts[by_length] if way == "sorted" else texts,
                          batch_size=args.batch_size, verbose=0)
            rates[way, "score"].append(len(texts) /
                                       (time.perf_counter() - start))
            tuned = encoder_models.make_encoder_teacher(
                encoder, args.classes, args.sequence_length,
                pad_to_longest=way != "fixed")
            keras.utils.set_random_seed(r)
            order = np.random.default_rng(r).permutation(len(texts))
            rows = order[:args.train_examples]
            # one warm epoch traces the step; the second is timed
            fine_tuning.fine_tune(tuned, texts[rows[:args.train_batch]],
                                  labels[rows[:args.train_batch]],
                                  epochs=1, batch_size=args.train_batch,
                                  verbose=0)
            batches = (fine_tuning.length_batches(
                texts[rows], labels[rows], args.train_batch, seed=r)
                if way == "sorted" else None)
            start = time.perf_counter()
            if batches is None:
                tuned.fit(texts[rows], labels[rows],
                          batch_size=args.train_batch, epochs=1, verbose=0)
            else:
                tuned.fit(batches, epochs=1, verbose=0)
            rates[way, "tune"].append(len(rows) /
                                      (time.perf_counter() - start))
            print(f"round {r} {way}: scoring {rates[way, 'score'][-1]:.1f} "
                  f"texts/s, fine-tuning {rates[way, 'tune'][-1]:.1f} texts/s",
                  flush=True)
    print(f"{len(texts)} texts ({args.train_examples} fine-tuned), sequence "
          f"length {args.sequence_length}, {os.cpu_count()} cores, "
          f"{args.rounds} rounds")
    print("| step | way | texts/s (median) | / fixed: median (min, max) |")
    print("|---|---|---|---|")
    for part, name in (("score", f"scoring, batch {args.batch_size}"),
                       ("tune", f"fine-tuning, batch {args.train_batch}")):
        for way in ways:
            ratio = np.array(rates[way, part]) / np.array(
                rates["fixed", part])
            print(f"| {name} | {way} | {np.median(rates[way, part]):.1f} | "
                  f"{np.median(ratio):.2f}x ({ratio.min():.2f}, "
                  f"{ratio.max():.2f}) |")


if __name__ == "__main__":
    main()
