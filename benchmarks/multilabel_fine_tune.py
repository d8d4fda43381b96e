"""A fine-tuned multi-label teacher for benchmarks/multilabel_wordnet.py.

Usage:
  python benchmarks/multilabel_fine_tune.py --work=/tmp/multilabel
      --encoder=DIR [--data=../shared/data] [--layers=0] [--epochs=1]
      [--sequence_length=48]

all-MiniLM-L6-v2 with a per-class sigmoid head: the head trained on the
frozen encoder's precomputed embeddings of the labeled split
(`cross_fitting.train_head`, 30 epochs), then encoder and head fine-tuned
together on its texts (`fine_tuning.fine_tune`: all layers, or the top
--layers; AdamW, warmup then cosine decay). Its sigmoid logits for each
split go to WORK/fine_tuned/{labeled,unlabeled,valid,test}_scores.npy
(the labeled split's in-fold: the bundle's single-label records measured
no better out of fold), each split written as soon as it is scored, and a
split already there is not scored again, so an interrupted run resumes;
then `multilabel_wordnet.py --scores=WORK/fine_tuned` trains and compares
the students. On 2 cores, one epoch of all layers over the 20,527
labeled glosses took 447 s, scoring the 57,019 glosses 6 minutes.
"""

import argparse
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
sys.path.insert(0, os.path.join(ROOT, "examples", "wordnet"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="/tmp/multilabel")
    parser.add_argument("--encoder", required=True)
    parser.add_argument("--data", default=os.path.join(ROOT, "..", "shared",
                                                       "data"))
    parser.add_argument("--data_noun", default="/usr/share/wordnet/data.noun")
    parser.add_argument("--layers", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--sequence_length", type=int, default=48)
    args = parser.parse_args()

    import multilabel_wordnet

    from topk_distill.models import encoder_models
    from topk_distill.teachers import cross_fitting, fine_tuning

    out = os.path.join(args.work, "fine_tuned")
    os.makedirs(out, exist_ok=True)
    ids, parts, names, vectors = multilabel_wordnet.write_splits(
        args.work, args.data, args.data_noun)
    texts = {}
    for name in parts:
        with open(os.path.join(args.work, f"{name}.tsv"),
                  encoding="utf-8") as f:
            texts[name] = np.array([line.rstrip("\n").split("\t")[0]
                                    for line in f], object)
    weights = os.path.join(out, "teacher.weights.h5")
    teacher = encoder_models.make_encoder_teacher(
        args.encoder, len(names), args.sequence_length)
    start = time.perf_counter()
    if os.path.exists(weights):
        teacher.load_weights(weights)
    else:
        rows = parts["labeled"]
        targets = cross_fitting.multi_hot([ids[i] for i in rows], len(names))
        fine_tuning.train_encoder_teacher(
            teacher, texts["labeled"], targets, vectors[rows],
            np.arange(len(rows)), dict(epochs=30, seed=0),
            dict(layers=args.layers, epochs=args.epochs, seed=0,
                 batch_size=32))
        teacher.save_weights(weights)
        print(f"fine-tuned in {time.perf_counter() - start:.0f} s",
              flush=True)
    for name in ("valid", "test", "unlabeled", "labeled"):
        path = os.path.join(out, f"{name}_scores.npy")
        if os.path.exists(path):
            continue
        start = time.perf_counter()
        np.save(path, fine_tuning.predict_by_length(teacher, texts[name],
                                                    verbose=0))
        print(f"{name}: scored in {time.perf_counter() - start:.0f} s",
              flush=True)


if __name__ == "__main__":
    main()
