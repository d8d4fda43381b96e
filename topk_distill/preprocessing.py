"""Run a teacher once over a text set and keep its top-K scores as records.

text -> teacher -> top-K (class id, score) pairs -> sharded TFRecords plus
metadata. A labeled set keeps the K best scores (default raw logits); an
unlabeled set keeps the H best (default softmax probabilities; H=1 makes the
top class a pseudo label). The teacher runs in batches inside a tf.data
pipeline, prefetched, so the teacher's next batch is computed while the
current one is serialized and written.
"""

import datetime
import json
import os
import time

import numpy as np
import tensorflow as tf

from topk_distill import inputs, records

SCORE_KINDS = ("logits", "probabilities")


def preprocess(teacher, input_spec, labels_path, output_prefix, top_k=20,
               unlabeled=False, scores=None, num_shards=8, compression="none",
               batch_size=256, score_dtype="float16", tail_temperature=None,
               data_dir=None, skip_unknown_labels=False, command=None,
               resume=False, verbose=1):
    """Writes the teacher's top-K records for one input.

    Args:
        teacher: a `topk_distill.Teacher` (see `load_teacher`).
        input_spec: `.tsv`, `.jsonl` or `tfds:NAME[:SPLIT]`.
        labels_path: `labels.txt`; its line count must equal the teacher's N.
        output_prefix: records go to `PREFIX-NNNNN-of-NNNNN.tfrecord[.gz]`,
            metadata to `PREFIX.meta.json`.
        top_k: K (or H for an unlabeled set); 0 keeps all N scores (dense).
        unlabeled: treat the input as unlabeled (labels, if any, withheld:
            every record gets label -1).
        scores: `"logits"` or `"probabilities"` to store; default logits for
            a labeled set and probabilities for an unlabeled one. Logits from
            probabilities are `log(p)` (equal to the logits up to a constant
            per example, which softmax ignores).
        num_shards: number of output shards.
        compression: `"none"` or `"gzip"`.
        batch_size: teacher batch size.
        score_dtype: `"float16"` (default, half the bytes) or `"float32"`.
            float16 logits are stored relative to the example's top logit
            (a shift that leaves every softmax unchanged) and clipped to
            float16's range.
        tail_temperature: if set to T, each record also keeps `tail_mass`,
            the teacher's softmax(z/T) mass outside its top-K, for training
            with `tail="bucket"` at the same T.
        data_dir: TFDS data directory, for `tfds:` inputs.
        skip_unknown_labels: leave out examples whose label is not in the
            labels file (counted as `skipped_unknown_labels`) instead of
            refusing the input.
        command: the command line, stored in the metadata.
        resume: continue an interrupted run: shards already complete (with
            their final names) are kept and their examples not run again.
            The run must be the same (teacher, labels file, input, K/H,
            scores, shards...): `PREFIX.run.json`, written when a run
            starts and removed when it ends, is compared with it.
        verbose: 1 shows a progress bar and a summary line.

    Returns:
        The metadata dict written to `PREFIX.meta.json`, plus the summary
        entries `teacher_bytes_per_example` (over the examples this run
        wrote), `dense_bytes_per_example`, `seconds`, `resumed_at_shard`.

    Example:
    >>> teacher = topk_distill.load_teacher("teacher/teacher.keras")
    >>> preprocess(teacher, "train.tsv", "teacher/labels.txt", "out/train")
    """
    scores, label_ids = checked_settings(
        teacher, labels_path, unlabeled, top_k, scores, score_dtype,
        compression, num_shards, tail_temperature)
    num_rows, num_examples = _check_input(input_spec, data_dir, label_ids,
                                          skip_unknown_labels)
    if getattr(teacher, "num_rows", num_rows) != num_rows:
        raise ValueError(f"--teacher={teacher.identity['path']}: "
                         f"{teacher.num_rows} score rows for {num_rows} "
                         f"examples in {input_spec}; expected one row each")
    plan = record_set_plan(teacher, input_spec, labels_path, top_k, unlabeled,
                           scores, score_dtype, compression, tail_temperature,
                           num_shards, num_examples, num_rows - num_examples)
    os.makedirs(os.path.dirname(os.path.abspath(output_prefix)), exist_ok=True)
    first = _resume_from(output_prefix, plan) if resume else 0
    writer = records.ShardWriter(output_prefix, num_examples, num_shards,
                                 compression, first_shard=first)
    records.write_json(output_prefix + ".run.json", plan)
    dataset = _teacher_batches(teacher, input_spec, data_dir, label_ids,
                               skip_unknown_labels, batch_size, top_k, scores,
                               score_dtype, tail_temperature,
                               writer.bounds[first])
    start = time.perf_counter()
    with writer:
        teacher_bytes = _write(dataset, writer, num_examples, verbose)
    seconds = time.perf_counter() - start
    written = num_examples - writer.bounds[first]
    metadata = write_final_metadata(
        output_prefix, plan, [(writer.path(i), n)
                              for i, n in enumerate(writer.counts)], command)
    os.remove(output_prefix + ".run.json")
    summary = dict(metadata, resumed_at_shard=first,
                   teacher_bytes_per_example=teacher_bytes / max(written, 1),
                   dense_bytes_per_example=4 * teacher.num_classes,
                   seconds=seconds)
    if verbose:
        _print_summary(summary, output_prefix)
    return summary


def record_set_plan(teacher, input_spec, labels_path, top_k, unlabeled,
                    scores, score_dtype, compression, tail_temperature,
                    num_shards, num_examples, skipped_unknown_labels):
    """The metadata of a record set, before its shards are written."""
    return {
        "kind": "unlabeled" if unlabeled else "labeled",
        "num_classes": teacher.num_classes,
        "top_k": top_k or teacher.num_classes,
        "dense": top_k == 0,
        "scores": scores,
        "score_dtype": score_dtype,
        "compression": compression,
        "tail_temperature": tail_temperature,
        "num_examples": num_examples,
        "skipped_unknown_labels": skipped_unknown_labels,
        "num_shards": num_shards,
        "labels_sha256": inputs.labels_sha256(labels_path),
        "teacher": teacher.identity,
        "input": input_spec,
    }


def write_final_metadata(prefix, plan, shards, command):
    """Writes `PREFIX.meta.json` once every shard is complete.

    Args:
        prefix: the record set's prefix.
        plan: its `record_set_plan`.
        shards: `(path, examples)` of each shard, in order.
        command: the command line, or `None`.

    Returns:
        The metadata written.
    """
    metadata = dict(
        plan, command=command,
        shards=[{"file": os.path.basename(path), "examples": n}
                for path, n in shards],
        created=datetime.datetime.now(datetime.timezone.utc).isoformat())
    records.write_metadata(prefix, metadata)
    return metadata


def _resume_from(prefix, plan):
    """Returns the first shard an interrupted run left incomplete.

    Raises:
        ValueError: if the interrupted run differs from this one.
    """
    previous = _read_json(prefix + ".run.json") or _read_json(
        records.metadata_path(prefix))
    if previous is None:
        return 0
    different = sorted(key for key in plan if previous.get(key) != plan[key])
    if different:
        raise ValueError(
            f"--resume: {prefix} was written by another run (its "
            f"{', '.join(different)} differ); use a new --output or remove "
            "the old files")
    first = 0
    while first < plan["num_shards"] and os.path.exists(records.shard_path(
            prefix, first, plan["num_shards"], plan["compression"])):
        first += 1
    return first


def _read_json(path):
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)



def checked_settings(teacher, labels_path, unlabeled, top_k, scores,
                     score_dtype, compression, num_shards,
                     tail_temperature=None):
    """Checks the settings of a record set against its teacher and labels.

    Returns:
        `(scores, label ids)`: the score kind to store (`scores`, or its
        default for the set's kind) and `{class name: id}` from the labels
        file (`None` for an unlabeled set).

    Raises:
        ValueError: naming a setting that cannot make a record set.
    """
    names = inputs.read_labels(labels_path)
    num_classes = len(names)
    scores = scores or ("probabilities" if unlabeled else "logits")
    if tail_temperature is not None and (tail_temperature <= 0 or not top_k):
        raise ValueError(f"tail_temperature={tail_temperature}; expected a "
                         "positive temperature, with top_k > 0")
    if teacher.num_classes != num_classes:
        raise ValueError(f"the teacher returns {teacher.num_classes} scores "
                         f"per example but {labels_path} names {num_classes} "
                         "classes; expected the same N")
    if not 0 <= top_k <= num_classes:
        raise ValueError(f"top_k={top_k}; expected 1..N={num_classes}, or 0 "
                         "for all N scores")
    for name, value, allowed in (("scores", scores, SCORE_KINDS),
                                 ("score_dtype", score_dtype,
                                  records.SCORE_DTYPES),
                                 ("compression", compression,
                                  records.COMPRESSIONS)):
        if value not in allowed:
            raise ValueError(f"{name}={value!r}; expected one of {allowed}")
    if num_shards < 1:
        raise ValueError(f"num_shards={num_shards}; expected at least 1")
    return scores, None if unlabeled else {n: i for i, n in enumerate(names)}


def _examples(input_spec, data_dir, label_ids, skip_unknown_labels):
    """Yields (row, text, label id) for each example, row = its position in
    the input; an unknown label is refused, or with `skip_unknown_labels`
    has label id None."""
    for row, (text, label) in enumerate(inputs.iter_examples(input_spec,
                                                             data_dir)):
        yield row, text, label_id(label, label_ids, skip_unknown_labels,
                                  f"{input_spec}: example {row + 1}")


def label_id(label, label_ids, skip_unknown_labels, where):
    """An example's class id: -1 in an unlabeled set (`label_ids` None);
    None for an unknown label with `skip_unknown_labels` (left out).

    Raises:
        InputError: naming `where`, for a missing or unknown label.
    """
    if label_ids is None:
        return -1
    if label is None:
        raise inputs.InputError(f"{where} has no label; expected a labeled "
                                "set (or pass --unlabeled)")
    if label in label_ids:
        return label_ids[label]
    if skip_unknown_labels:
        return None
    raise inputs.InputError(f"{where}: label {label!r} is not in the labels "
                            "file (or pass --skip_unknown_labels)")


def _check_input(input_spec, data_dir, label_ids, skip_unknown_labels):
    """Reads the whole input once, before any teacher time is spent.

    Returns:
        `(rows in the input, examples kept)`.

    Raises:
        InputError: naming the first bad example.
    """
    rows = kept = 0
    for _, _, label in _examples(input_spec, data_dir, label_ids,
                                 skip_unknown_labels):
        rows += 1
        kept += label is not None
    return rows, kept


def _text_batches(input_spec, data_dir, label_ids, skip_unknown_labels,
                  batch_size, start=0):
    """Yields (rows, texts, labels) numpy batches, from kept example `start`."""
    rows, texts, labels = [], [], []
    kept = _examples(input_spec, data_dir, label_ids, skip_unknown_labels)
    kept = (example for example in kept if example[2] is not None)
    for index, (row, text, label) in enumerate(kept):
        if index < start:
            continue
        rows.append(row)
        texts.append(text.encode("utf-8"))
        labels.append(label)
        if len(rows) == batch_size:
            yield np.array(rows), np.array(texts, object), np.array(labels)
            rows, texts, labels = [], [], []
    if rows:
        yield np.array(rows), np.array(texts, object), np.array(labels)


def _teacher_batches(teacher, input_spec, data_dir, label_ids,
                     skip_unknown_labels, batch_size, top_k, scores,
                     score_dtype, tail_temperature, start):
    """Returns a dataset of batches `(rows, records, teacher_bytes, finite)`.

    Teacher, top-K and serialization all run inside tf.data, prefetched, so
    the Python loop that writes shards only moves bytes.
    """
    dataset = tf.data.Dataset.from_generator(
        lambda: _text_batches(input_spec, data_dir, label_ids,
                              skip_unknown_labels, batch_size, start),
        output_signature=(tf.TensorSpec([None], tf.int64),
                          tf.TensorSpec([None], tf.string),
                          tf.TensorSpec([None], tf.int64)))

    def score(rows, texts, labels):
        return (rows,) + score_batch(teacher, texts, labels, top_k, scores,
                                     score_dtype, tail_temperature, rows)

    return dataset.map(score).prefetch(2)


def score_batch(teacher, texts, labels, top_k, scores, score_dtype,
                tail_temperature=None, rows=None):
    """Runs the teacher on a batch and serializes its top-K records.

    Args:
        teacher: a `Teacher`.
        texts: string [B].
        labels: int64 [B] class ids (-1 for unlabeled examples).
        top_k: K (or H); 0 keeps all N scores.
        scores, score_dtype, tail_temperature: as in `preprocess`.
        rows: int64 [B] input positions (only precomputed teachers use them).

    Returns:
        `(records string [B], teacher bytes int [B], finite bool [B])`:
        serialized `tf.train.Example`s, the bytes of each spent on teacher
        output, and whether all of each example's scores were finite.
    """
    if rows is None:
        rows = tf.zeros_like(labels)
    raw = teacher(texts, rows)
    values = _convert(raw, teacher.outputs, scores)
    finite = tf.reduce_all(tf.math.is_finite(values), axis=-1)
    ids = tail = None
    if top_k:
        values, ids = tf.math.top_k(values, k=top_k)
    if tail_temperature:
        tail = _tail_mass(_convert(raw, teacher.outputs, "logits"), ids,
                          tail_temperature)
    if scores == "logits" and score_dtype == "float16":
        # Shift so the top logit is 0, where float16 is most precise;
        # softmax is unchanged by a per-example shift.
        values -= tf.reduce_max(values, axis=-1, keepdims=True)
    serialized, teacher_bytes = records.serialize_batch(
        texts, labels, ids, values, score_dtype, tail)
    return serialized, teacher_bytes, finite


def _tail_mass(logits, ids, temperature):
    """The softmax(logits / T) mass outside the classes `ids`, in log-space."""
    scaled = logits / temperature
    kept = tf.reduce_logsumexp(tf.gather(scaled, ids, batch_dims=1), axis=-1)
    return tf.clip_by_value(-tf.math.expm1(
        kept - tf.reduce_logsumexp(scaled, axis=-1)), 0.0, 1.0)


def _convert(values, have, want):
    if have == want:
        return values
    if want == "probabilities":
        return tf.nn.softmax(values, axis=-1)
    return tf.math.log(tf.maximum(values, np.finfo(np.float32).tiny))


def _write(dataset, writer, num_examples, verbose):
    """Writes every batch; returns the bytes spent on teacher output."""
    import keras

    done = writer.bounds[writer.first_shard]
    progress = keras.utils.Progbar(num_examples, verbose=verbose,
                                   stateful_metrics=["examples/s"],
                                   unit_name="example")
    teacher_bytes, start, initial = 0, time.perf_counter(), done
    for rows, serialized, sizes, finite in dataset.as_numpy_iterator():
        if not finite.all():
            raise ValueError(f"example {rows[~finite][0] + 1}: the teacher "
                             "returned NaN or Inf scores; expected finite "
                             "numbers")
        for record in serialized:
            writer.write(record)
        teacher_bytes += int(sizes.sum())
        done += len(rows)
        progress.update(done, [("examples/s", (done - initial) / (
            time.perf_counter() - start))])
    return teacher_bytes


def _print_summary(summary, prefix):
    per_example = summary["teacher_bytes_per_example"]
    dense = summary["dense_bytes_per_example"]
    skipped = summary["skipped_unknown_labels"]
    print(f"{prefix}: {summary['num_examples']} examples"
          f"{f' ({skipped} with unknown labels skipped)' if skipped else ''} in "
          f"{len(summary['shards'])} shards, {summary['seconds']:.1f} s; "
          f"teacher output {per_example:.1f} B/example vs {dense} B dense "
          f"float32 ({dense / max(per_example, 1e-9):.1f}x smaller)")
