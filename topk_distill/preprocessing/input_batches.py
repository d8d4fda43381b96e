"""The input `preprocess` runs the teacher on: read once to check it, then
in batches, scored while the next batch is read."""

import concurrent.futures

import numpy as np
import tensorflow as tf

from topk_distill.inputs import errors, input_kinds, inputs, labels_file
from topk_distill.preprocessing import scoring


def _examples(input_spec, data_dir, label_ids, skip_unknown_labels,
              verify=True, multi_label=False):
    """Yields (row, where, text, label id) for each example, row = its
    position in the input; an unknown label is refused, or with
    `skip_unknown_labels` has label id None. `verify=False`: images are
    not decoded again (`check_input` did). Multi-label, the label ids are
    a tuple (`labels_file.label_ids`; empty in an unlabeled set)."""
    to_ids = labels_file.label_ids if multi_label else labels_file.label_id
    for row, (where, text, label) in enumerate(inputs.iter_located(
            input_spec, data_dir, verify, multi_label)):
        yield row, where, text, to_ids(label, label_ids, where,
                                       skip_unknown_labels)


def check_input(input_spec, data_dir, label_ids, skip_unknown_labels,
                multi_label=False):
    """Reads the whole input once, before any teacher time is spent.

    Returns:
        `(rows in the input, examples kept, the most labels an example
        kept has)`.

    Raises:
        InputError: naming the first bad example, or an input with none.
    """
    rows = kept = most = 0
    for _, _, _, label in _examples(input_spec, data_dir, label_ids,
                                    skip_unknown_labels,
                                    multi_label=multi_label):
        rows += 1
        kept += label is not None
        if multi_label and label is not None:
            most = max(most, len(label))
    if not kept:
        raise errors.InputError(
            f"{input_spec}: no examples" + (
                f" (all {rows} have labels not in the labels file)"
                if rows else ""))
    return rows, kept, most


def text_batches(input_spec, data_dir, label_ids, skip_unknown_labels,
                 batch_size, start=0, label_width=None):
    """Yields the input's examples in numpy batches, as `preprocess` runs
    the teacher on them.

    Args:
        input_spec, data_dir, skip_unknown_labels: as in `preprocess`.
        label_ids: `{class name: id}`, or `None` for an unlabeled set.
        batch_size: examples per batch.
        start: skip the first `start` kept examples.
        label_width: L, for multi-label examples: each batch's labels are
            then int64 [B, L], -1 padding.

    Images are not decoded to check them here: `preprocess` has read the
    whole input once before (`check_input`), decoding each.

    Returns:
        A generator of `(rows, wheres, payloads, labels)`: int64 input
        positions, the examples' places (`FILE:LINE`) and payloads as bytes
        (`input_kinds.payload_bytes`), and int64 class ids.
    """
    batch = []
    kept = _examples(input_spec, data_dir, label_ids, skip_unknown_labels,
                     verify=False, multi_label=label_width is not None)
    kept = (example for example in kept if example[3] is not None)
    for index, (row, where, text, label) in enumerate(kept):
        if index < start:
            continue
        batch.append((row, where.encode("utf-8"),
                      input_kinds.payload_bytes(text), label))
        if len(batch) == batch_size:
            yield _columns(batch, label_width)
            batch = []
    if batch:
        yield _columns(batch, label_width)


def _columns(batch, label_width):
    rows, wheres, texts, labels = zip(*batch)
    return (np.array(rows, np.int64), np.array(wheres, object),
            np.array(texts, object),
            np.array(labels, np.int64) if label_width is None else
            labels_file.padded(labels, label_width))


def input_dataset(input_spec, data_dir, label_ids, skip_unknown_labels,
                  batch_size, start=0, label_width=None):
    """`text_batches` as a `tf.data.Dataset` of `(rows, wheres, payloads,
    labels)`: the input `preprocess` runs the teacher on."""
    return tf.data.Dataset.from_generator(
        lambda: text_batches(input_spec, data_dir, label_ids,
                             skip_unknown_labels, batch_size, start,
                             label_width),
        output_signature=(tf.TensorSpec([None], tf.int64),
                          tf.TensorSpec([None], tf.string),
                          tf.TensorSpec([None], tf.string),
                          tf.TensorSpec([None] if label_width is None else
                                        [None, label_width], tf.int64)))


def teacher_batches(teacher, input_spec, data_dir, label_ids,
                    skip_unknown_labels, batch_size, plan, start):
    """Yields each batch's `(wheres, records, teacher_bytes, finite)` as
    numpy arrays.

    As Keras's `predict` does, tf.data only reads the input (prefetched, in
    its own thread) and the teacher runs as a `tf.function` called here: in
    a tf.data `map`, all-MiniLM-L6-v2 ran about 15% slower on 2 cores. One
    batch's records (top-K, serialization) are made in a worker thread
    while the teacher runs on the next (TensorFlow ops release the GIL).
    """
    dataset = input_dataset(
        input_spec, data_dir, label_ids, skip_unknown_labels, batch_size,
        start, plan.label_width)
    dataset = dataset.prefetch(2)
    rows_spec, _, texts_spec, _ = dataset.element_spec
    # Plain tracing (no AutoGraph): the steps have no tensor-dependent
    # Python control flow, and AutoGraph's conversion cost about a second.
    run_teacher = tf.function(
        lambda rows, texts: scoring.run_teacher(teacher, texts, plan, rows),
        input_signature=(rows_spec, texts_spec), autograph=False)
    make_records = tf.function(
        lambda scores, texts, labels: scoring.records_from_scores(
            scores, texts, labels, plan, teacher.outputs), autograph=False)

    def finish_batch(wheres, scores, texts, labels):
        made = make_records(scores, texts, labels)
        return (wheres.numpy(),) + tuple(x.numpy() for x in made)

    with concurrent.futures.ThreadPoolExecutor(1) as worker:
        pending = None
        for rows, wheres, texts, labels in dataset:
            scores = run_teacher(rows, texts)
            if pending is not None:
                yield pending.result()
            pending = worker.submit(finish_batch, wheres, scores, texts,
                                    labels)
        if pending is not None:
            yield pending.result()
