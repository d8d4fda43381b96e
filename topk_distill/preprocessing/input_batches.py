"""The input `preprocess` runs the teacher on: read once to check it, then
in batches, scored while the next batch is read."""

import concurrent.futures

import numpy as np
import tensorflow as tf

from topk_distill.inputs import errors, input_kinds, inputs, labels_file
from topk_distill.inputs.label_space import SingleLabel
from topk_distill.preprocessing import scoring


def _examples(input_spec, data_dir, label_ids, skip_unknown_labels,
              label_space, verify=True):
    """Yields (row, where, text, label ids) for each example, row = its
    position in the input, its labels read in `label_space`: a tuple of
    class ids (`labels_file.label_ids`; empty in an unlabeled set); an
    unknown label is refused, or with `skip_unknown_labels` left out
    (`None` if none is left). `verify=False`: images are not decoded
    again (`check_input` did)."""
    for row, (where, text, labels) in enumerate(inputs.iter_located(
            input_spec, data_dir, verify, label_space)):
        yield row, where, text, labels_file.label_ids(
            labels, label_ids, where, skip_unknown_labels)


def check_input(input_spec, data_dir, label_ids, skip_unknown_labels,
                label_space):
    """Reads the whole input once, before any teacher time is spent.

    Returns:
        `(rows in the input, examples kept, the most labels an example
        kept has)`.

    Raises:
        InputError: naming the first bad example, or an input with none.
    """
    rows = kept = most = 0
    for _, _, _, labels in _examples(input_spec, data_dir, label_ids,
                                     skip_unknown_labels, label_space):
        rows += 1
        kept += labels is not None
        most = max(most, len(labels or ()))
    if not kept:
        raise errors.InputError(
            f"{input_spec}: no examples" + (
                f" (all {rows} have labels not in the labels file)"
                if rows else ""))
    return rows, kept, most


def text_batches(input_spec, data_dir, label_ids, skip_unknown_labels,
                 batch_size, start=0, record_set=None):
    """Yields the input's examples in numpy batches, as `preprocess` runs
    the teacher on them.

    Args:
        input_spec, data_dir, skip_unknown_labels: as in `preprocess`.
        label_ids: `{class name: id}`, or `None` for an unlabeled set.
        batch_size: examples per batch.
        start: skip the first `start` kept examples.
        record_set: the `RecordSet` written (its label space and width):
            each batch's labels are `label_array`'s, int64 [B] or [B, L];
            default a single-label one.

    Images are not decoded to check them here: `preprocess` has read the
    whole input once before (`check_input`), decoding each.

    Returns:
        A generator of `(rows, wheres, payloads, labels)`: int64 input
        positions, the examples' places (`FILE:LINE`) and payloads as bytes
        (`input_kinds.payload_bytes`), and int64 class ids.
    """
    batch = []
    space, width = _labels_of(record_set)
    kept = _examples(input_spec, data_dir, label_ids, skip_unknown_labels,
                     space, verify=False)
    kept = (example for example in kept if example[3] is not None)
    for index, (row, where, text, label) in enumerate(kept):
        if index < start:
            continue
        batch.append((row, where.encode("utf-8"),
                      input_kinds.payload_bytes(text), label))
        if len(batch) == batch_size:
            yield _columns(batch, space, width)
            batch = []
    if batch:
        yield _columns(batch, space, width)


def _labels_of(record_set):
    """`(label space, label width)` of the set written, or a single-label
    space's."""
    if record_set is None:
        return SingleLabel(), None
    return record_set.label_space, record_set.label_width


def _columns(batch, space, width):
    rows, wheres, texts, labels = zip(*batch)
    return (np.array(rows, np.int64), np.array(wheres, object),
            np.array(texts, object), space.label_array(labels, width))


def input_dataset(input_spec, data_dir, label_ids, skip_unknown_labels,
                  batch_size, start=0, record_set=None):
    """`text_batches` as a `tf.data.Dataset` of `(rows, wheres, payloads,
    labels)`: the input `preprocess` runs the teacher on."""
    space, width = _labels_of(record_set)
    return tf.data.Dataset.from_generator(
        lambda: text_batches(input_spec, data_dir, label_ids,
                             skip_unknown_labels, batch_size, start,
                             record_set),
        output_signature=(tf.TensorSpec([None], tf.int64),
                          tf.TensorSpec([None], tf.string),
                          tf.TensorSpec([None], tf.string),
                          tf.TensorSpec(space.array_shape(width), tf.int64)))


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
        start, plan)
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
