"""Run a teacher once over an input and keep its top-K scores as records.

text (or images, or feature vectors: `input_kinds`) -> teacher -> top-K
(class id, score) pairs -> sharded TFRecords plus metadata. A labeled set
keeps the K best scores (default raw logits); an unlabeled set keeps the H
best (default softmax probabilities; H=1 makes the top class a pseudo
label). tf.data reads the input in batches, prefetched; the teacher runs
on each as a `tf.function`, and a batch's records are made while the
teacher runs on the next.
"""

import dataclasses
import os
import sys
import time

from topk_distill.inputs import input_kinds, inputs, labels_file
from topk_distill.preprocessing import input_batches, run_options
from topk_distill.records import record_plan, writing
from topk_distill.utils import configs


def preprocess(teacher, input_spec, labels_path, output_prefix, settings=None,
               options=None, verbose=1, **keywords):
    """Writes the teacher's top-K records for one input.

    Args:
        teacher: a `topk_distill.Teacher` (see `load_teacher`).
        input_spec: `.tsv`, `.jsonl`, a folder of images or
            `tfds:NAME[:SPLIT]`; what its examples are (text, images,
            feature vectors) becomes the set's `input_kind`.
        labels_path: `labels.txt`; its line count must equal the teacher's
            N. `None` takes the teacher's own (`teacher.labels_path`).
        output_prefix: records go to `PREFIX-NNNNN-of-NNNNN.tfrecord[.gz]`,
            metadata to `PREFIX.meta.json`.
        settings: what the records keep, a `record_plan.RecordSettings`
            (K, scores, score dtype, shards, targets...).
        options: how the run reads its input and treats its output, a
            `run_options.PreprocessOptions` (batch size, TFDS folder,
            unknown labels, resume, overwrite, the command line).
        verbose: 1 shows a progress bar and a summary line.
        **keywords: instead of `settings` or `options`, their fields
            (`top_k=20, num_shards=8, resume=True, ...`).

    Returns:
        `(record_set, summary)`: the `RecordSet` written and a dict with
        `teacher_bytes_per_example` (over the examples this run wrote),
        `dense_bytes_per_example`, `seconds`, `resumed_at_shard`,
        `examples_written`.

    Raises:
        ValueError: naming the flag, file or example at fault; nothing of
            this run is left behind (shards of an interrupted earlier run
            stay, for `resume`).

    Examples:

        ```python
        teacher = topk_distill.load_teacher("teacher")
        record_set, summary = preprocess(teacher, "train.tsv", None,
                                         "records/train", top_k=20)
        ```
    """
    options = configs.config_from(run_options.PreprocessOptions, options,
                                  keywords)
    settings = record_plan.settings_of(settings, keywords)
    data_dir = options.data_dir
    input_kind, feature_dim = inputs.describe(input_spec, data_dir)
    plan = plan_record_set(teacher, labels_path, input_spec, settings,
                           input_kind, feature_dim)
    label_ids = record_plan.class_ids(plan)
    num_rows, num_examples, most_labels = input_batches.check_input(
        input_spec, data_dir, label_ids, options.skip_unknown_labels,
        plan.label_space)
    if getattr(teacher, "num_rows", num_rows) != num_rows:
        raise ValueError(f"--teacher={teacher.identity['path']}: "
                         f"{teacher.num_rows} score rows for {num_rows} "
                         f"examples in {input_spec}; expected one row each")
    if settings.num_shards > num_examples:
        raise ValueError(f"num_shards={settings.num_shards}, but "
                         f"{input_spec} has "
                         f"{num_examples} examples; expected at most one "
                         "shard per example")
    plan = dataclasses.replace(
        plan, num_examples=num_examples,
        skipped_unknown_labels=num_rows - num_examples,
        max_labels=plan.rules.max_labels(most_labels))
    output = writing.RecordSetOutput(output_prefix, plan, options.resume,
                                     options.overwrite, options.command,
                                     keep_interrupted=True)
    batches = input_batches.teacher_batches(
        teacher, input_spec, data_dir, label_ids,
        options.skip_unknown_labels, options.batch_size, plan,
        output.first_example)
    start = time.perf_counter()
    with output:
        teacher_bytes = _write(batches, output, num_examples, verbose,
                               teacher.identity.get("path"))
    seconds = time.perf_counter() - start
    written = num_examples - output.first_example
    record_set = output.record_set
    summary = dict(resumed_at_shard=output.first_shard,
                   examples_written=written,
                   teacher_bytes_per_example=teacher_bytes / max(written, 1),
                   dense_bytes_per_example=4 * teacher.num_classes,
                   seconds=seconds)
    if verbose:
        print(summary_line(record_set, summary))
    return record_set, summary


def _check_same_labels(names, own, labels_path, own_path):
    """A --labels file must be the teacher's own vocabulary: the same names
    in the same order (each score column is the class of its line)."""
    for line, (given, expected) in enumerate(zip(names, own), start=1):
        if given != expected:
            raise ValueError(
                f"--labels={labels_path}:{line}: {given!r}, but the "
                f"teacher's own {own_path} has {expected!r} there; a "
                "teacher's scores follow its labels.txt (pass that file, or "
                "no --labels)")
    if len(names) != len(own):
        raise ValueError(f"--labels={labels_path} names {len(names)} classes"
                         f", but the teacher's own {own_path} "
                         f"{len(own)}; expected the same names in order")


def plan_record_set(teacher, labels_path, input_spec, settings=None,
                    input_kind="text", feature_dim=None):
    """Checks a teacher against its labels and input; returns the
    `RecordSet` the run will write (`record_plan.plan`: its settings are
    checked there).

    Args: as in `preprocess` (`labels_path` `None`: the teacher's own;
        `settings` a `record_plan.RecordSettings`), and the input's kind and
        feature length (`inputs.describe`).

    Raises:
        ValueError: naming what does not fit.
    """
    labels_path = labels_path or teacher.labels_path
    if labels_path is None:
        raise ValueError(f"--teacher={teacher.identity.get('path')} has no "
                         "labels.txt beside it; pass --labels")
    names = labels_file.read_labels(labels_path)
    own = teacher.labels_path
    if own and os.path.abspath(own) != os.path.abspath(labels_path):
        _check_same_labels(names, labels_file.read_labels(own), labels_path,
                           own)
    takes = getattr(teacher, "input_kind", None)
    if takes and takes != (input_kind, feature_dim):
        found = input_kinds.kind_name(input_kind, feature_dim)
        raise ValueError(f"--teacher={teacher.identity.get('path')} takes "
                         f"{input_kinds.kind_name(*takes)} inputs, but "
                         f"{input_spec} holds {found} inputs; expected a "
                         f"teacher made for {found}")
    if teacher.num_classes != len(names):
        raise ValueError(f"the teacher returns {teacher.num_classes} scores "
                         f"per example but {labels_path} names {len(names)} "
                         "classes; expected the same N")
    return record_plan.plan(labels_path, input_spec, teacher.identity,
                            settings, input_kind, feature_dim, names,
                            teacher.label_space)


def _write(batches, writer, num_examples, verbose, teacher_path):
    """Writes every batch; returns the bytes spent on teacher output."""
    from topk_distill.utils import progress as progress_bars

    done = writer.first_example
    progress = progress_bars.progress_bar(num_examples, verbose=verbose,
                                          stateful_metrics=["examples/s"],
                                          unit_name="example")
    teacher_bytes, start, initial = 0, time.perf_counter(), done
    for wheres, serialized, sizes, finite in batches:
        if not finite.all():
            if verbose:
                sys.stdout.write("\n")  # End the progress bar's line.
            raise ValueError(
                f"--teacher={teacher_path}: the teacher returned NaN or Inf "
                f"scores, or probabilities outside [0, 1], for the example at"
                f" {wheres[~finite][0].decode()}; expected finite numbers "
                "of its --teacher_outputs kind (nothing was kept of this "
                "run)")
        for record in serialized:
            writer.write(record)
        teacher_bytes += int(sizes.sum())
        done += len(wheres)
        progress.update(done, [("examples/s", (done - initial) / (
            time.perf_counter() - start))])
    return teacher_bytes


def summary_line(record_set, summary):
    """The one-line summary `preprocess` prints.

    Examples:
        >>> from topk_distill.records.records import RecordSet, Shard
        >>> done = RecordSet(kind="labeled", num_classes=10, width=5,
        ...                  num_examples=4, shards=(Shard("a", 4),))
        >>> summary_line(done, {"seconds": 1.0, "dense_bytes_per_example": 40,
        ...                     "teacher_bytes_per_example": 54.0}).split("; ")[1]
        'teacher output 54.0 B/example vs 40 B dense float32 (1.4x larger)'
    """
    skipped = record_set.skipped_unknown_labels
    prefix = record_set.prefix or "records"
    if summary.get("examples_written") == 0:  # --resume of a whole set
        return (f"{prefix}: {record_set.num_examples} examples in "
                f"{len(record_set.shards)} shards, every one complete and "
                "readable; nothing written")
    per_example = summary["teacher_bytes_per_example"]
    dense = summary["dense_bytes_per_example"]
    ratio = dense / max(per_example, 1e-9)
    compared = (f"{ratio:.1f}x smaller" if ratio >= 1 else
                f"{1 / ratio:.1f}x larger")
    return (f"{prefix}: {record_set.num_examples} examples"
            f"{f' ({skipped} with unknown labels skipped)' if skipped else ''}"
            f" in {len(record_set.shards)} shards, {summary['seconds']:.1f} s;"
            f" teacher output {per_example:.1f} B/example vs {dense} B dense "
            f"float32 ({compared})")
