"""Train a teacher on a labeled file: what `topk-distill teacher` does.

Two teachers:

* the reference teacher (`models.make_teacher`: TF-IDF over word uni- and
  bigrams, then an MLP), trained from scratch: a small fixture for tests
  and quick checks, saved as `DIR/teacher.keras`;
* with an encoder, a pre-trained BERT-family encoder (frozen) plus a linear
  head trained on its sentence embeddings (`models.make_encoder_teacher`),
  saved as the SavedModel `DIR/saved_model`; with cross-fitting it also
  writes `DIR/cross_fit_logits.npy`, each input row scored by a head that
  did not see it.

Both write `DIR/labels.txt`; the folder is a valid `preprocess --teacher`.
"""

import os

import numpy as np

from topk_distill import inputs


def train_teacher(input_spec, output, labels_path=None, encoder=None,
                  embeddings=None, cross_fit_folds=0, epochs=10,
                  batch_size=64, seed=0, data_dir=None, verbose="auto"):
    """Trains a teacher on a labeled input and saves it in `output`.

    Args:
        input_spec: a labeled `.tsv`, `.jsonl` or `tfds:NAME[:SPLIT]`.
        output: the output folder.
        labels_path: a `labels.txt` to use (default: the sorted label names
            of the input).
        encoder: a local BERT-family checkpoint folder (config.json,
            model.safetensors, vocab.txt); `None` trains the reference
            teacher.
        embeddings: with `encoder`, a `.npy` of the encoder's embeddings of
            the input ([rows, hidden]), to skip computing them.
        cross_fit_folds: with `encoder`, k >= 2 also writes out-of-fold
            logits for every input row.
        epochs, batch_size, seed: training settings.
        data_dir: TFDS data directory.
        verbose: Keras verbosity.

    Returns:
        The paths written, e.g. `["DIR/teacher.keras", "DIR/labels.txt"]`.

    Raises:
        ValueError: naming the file or setting at fault.

    Example:

    ```python
    train_teacher("train.tsv", "teacher", encoder="all-MiniLM-L6-v2",
                  cross_fit_folds=5, epochs=30)
    ```
    """
    import keras

    if cross_fit_folds == 1 or cross_fit_folds < 0:
        raise ValueError(f"cross_fit_folds={cross_fit_folds}; expected 0 "
                         "(none) or at least 2 folds")
    keras.utils.set_random_seed(seed)
    names = (inputs.read_labels(labels_path) if labels_path else
             inputs.build_labels(input_spec, data_dir))
    texts, labels = inputs.read_labeled(input_spec, names, data_dir)
    texts, labels = np.array(texts, object), np.array(labels)
    os.makedirs(output, exist_ok=True)
    labels_out = os.path.join(output, "labels.txt")
    inputs.write_labels(labels_out, names)
    if encoder:
        written = _encoder_teacher(texts, labels, names, output, encoder,
                                   embeddings, cross_fit_folds, epochs, seed,
                                   batch_size, verbose)
    else:
        written = [_reference_teacher(texts, labels, names, output, epochs,
                                      batch_size, verbose)]
    return written + [labels_out]


def _reference_teacher(texts, labels, names, output, epochs, batch_size,
                       verbose):
    import keras

    from topk_distill import models

    model = models.make_teacher(texts, len(names))
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(
                      from_logits=True),
                  metrics=["accuracy"])
    model.fit(texts, labels, batch_size=batch_size, epochs=epochs,
              verbose=verbose)
    path = os.path.join(output, "teacher.keras")
    model.save(path)
    return path


def _encoder_teacher(texts, labels, names, output, encoder, embeddings,
                     cross_fit_folds, epochs, seed, batch_size, verbose):
    import keras

    from topk_distill import export, models

    teacher = models.make_encoder_teacher(encoder, len(names))
    if embeddings:
        vectors = np.load(embeddings).astype(np.float32)
        if vectors.shape[0] != len(texts):
            raise ValueError(f"--embeddings={embeddings}: {vectors.shape[0]} "
                             f"rows for {len(texts)} examples; expected one "
                             "row each")
    else:
        embed = keras.Model(teacher.input, teacher.get_layer(
            "embedding").output)
        vectors = embed.predict(texts, batch_size=batch_size, verbose=verbose)
    settings = dict(epochs=epochs, seed=seed,
                    verbose=1 if verbose == "auto" else verbose)
    head = models.train_head(vectors, labels, len(names), **settings)
    teacher.get_layer("head").set_weights(head.get_weights())
    written = [export.export_saved_model(
        teacher, os.path.join(output, "saved_model"), names)]
    if cross_fit_folds:
        logits = models.cross_fit_logits(vectors, labels, len(names),
                                         folds=cross_fit_folds, **settings)
        written.append(os.path.join(output, "cross_fit_logits.npy"))
        np.save(written[-1], logits)
    return written
