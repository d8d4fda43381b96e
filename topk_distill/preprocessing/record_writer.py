"""Record sets from a teacher that runs elsewhere (PyTorch, JAX, a server).

`preprocess` runs a Keras/TensorFlow teacher itself. A teacher that runs in
another framework gives its top-K (class ids, scores) per example; feeding
them batch by batch to a `RecordSetWriter` writes the same shards and
metadata `preprocess` writes for the same top-K (byte for byte: the shards
are identical), with the same checks, in flat memory.
"""

import dataclasses

import numpy as np

from topk_distill.inputs import inputs, labels_file
from topk_distill.inputs.label_space import SingleLabel
from topk_distill.models import choices
from topk_distill.preprocessing import run_options
from topk_distill.records import label_rules, record_plan
from topk_distill.utils import configs


class RecordSetWriter:
    """Writes a record set from top-K (ids, scores) computed elsewhere.

    Use it as a context manager: the set's metadata is written when the
    block ends with every announced example written; on an error (or too
    few examples) nothing of the run is left.

    Args:
        prefix: output prefix (as `preprocess --output`).
        labels_path: the `labels.txt` naming the N classes.
        num_examples: how many examples will be written (shards hold
            contiguous ranges of them).
        settings: a `record_plan.RecordSettings` (K, unlabeled, what the
            scores are, score dtype, compression, shards), or its fields as
            keywords (`record_settings`; here `num_shards` defaults to 1).
            `scores` says what the given scores are, stored as given
            (default: logits for a labeled set, probabilities for an
            unlabeled one).
        teacher: a name for the teacher, kept in the metadata.
        input: a name for the input, kept in the metadata.
        overwrite: replace a record set already at `prefix`.
        label_space: `MultiLabel()` for a multi-label set (each example's
            labels a list of names or ids; the scores per-class sigmoid
            logits or probabilities); default single-label.
        max_labels: with a multi-label space, L, the most labels an
            example has (0 for an unlabeled set).

    Examples:

        ```python
        with topk_distill.RecordSetWriter("records/train", "labels.txt",
                                          num_examples=len(texts)) as writer:
            for batch in loader:                        # e.g. a PyTorch loop
                logits = model(batch)                   # [B, N], any framework
                scores, ids = logits.topk(20)           # [B, 20] each
                writer.write(batch.texts, batch.labels, ids.numpy(),
                             scores.numpy())
        ```
    """

    def __init__(self, prefix, labels_path, num_examples, settings=None,
                 teacher="external", input=None, overwrite=False,
                 label_space=None, max_labels=None, **record_settings):
        names = labels_file.read_labels(labels_path)  # named first if bad
        if isinstance(num_examples, bool) or not isinstance(
                num_examples, (int, np.integer)) or num_examples < 1:
            raise ValueError(f"num_examples={num_examples!r}; expected an "
                             "integer >= 1")
        settings = record_plan.settings_of(settings, record_settings,
                                           num_shards=1)
        if settings.targets != "topk" or settings.tail_temperature:
            raise ValueError("a RecordSetWriter writes the top-K it is given"
                             f": targets={settings.targets!r}, tail_"
                             f"temperature={settings.tail_temperature}; "
                             "expected targets='topk' and no tail")
        if settings.num_shards > num_examples:
            raise ValueError(f"num_shards={settings.num_shards}, but "
                             f"num_examples={num_examples}; expected at most "
                             "one shard per example")
        space = (label_space or SingleLabel()).with_classes(len(names))
        problem = label_rules.RULES[space.kind].given_max_labels(
            max_labels, settings.unlabeled)
        if problem:
            raise ValueError(problem)
        plan = record_plan.plan(
            labels_path, input or "RecordSetWriter",
            {"kind": "external", "path": str(teacher)}, settings,
            names=names, label_space=space)
        if plan.dense:
            raise ValueError("top_k=0 (dense) is what this writer avoids; "
                             "expected K >= 1")
        self.plan = dataclasses.replace(plan, num_examples=num_examples,
                                        max_labels=max_labels)
        self.prefix = prefix
        self.record_set = None
        self._overwrite = overwrite
        self._label_ids = record_plan.class_ids(self.plan)
        self._output = None
        self._done = 0

    def __enter__(self):
        from topk_distill.records import writing

        self._output = writing.RecordSetOutput(
            self.prefix, self.plan, overwrite=self._overwrite).__enter__()
        return self

    def write(self, texts, labels, ids, scores, where=None):
        """Writes a batch of examples.

        Args:
            texts: B strings.
            labels: B class names or ids (ignored for an unlabeled set; may
                be `None` there); in a multi-label set, B lists of them.
            ids: int [B, K] class ids, distinct in each row.
            scores: float [B, K], the scores of `ids` (finite).
            where: optional B strings naming each example in errors
                (default: `PREFIX: example I`).

        Raises:
            ValueError: one line naming the example (its position in the
                set) and what was expected.
        """
        import tensorflow as tf

        from topk_distill.records import codec

        if self._output is None:
            raise ValueError(f"{self.prefix}: write() outside the writer's "
                             "with-block; expected `with RecordSetWriter(...)"
                             " as writer: writer.write(...)`")
        ids = np.asarray(ids)
        raw_scores = np.asarray(scores)
        span = (f"{self.prefix}: examples {self._done}.."
                f"{self._done + len(texts) - 1}")
        k = self.plan.width
        if ids.shape != (len(texts), k) or raw_scores.shape != ids.shape:
            raise ValueError(f"{span}: ids {ids.shape} and scores "
                             f"{raw_scores.shape} for {len(texts)} texts; "
                             f"expected [{len(texts)}, {k}] each (K={k})")
        where = list(where) if where is not None else [
            f"{self.prefix}: example {self._done + i}"
            for i in range(len(texts))]
        if len(where) != len(texts):
            raise ValueError(f"{span}: {len(where)} places in where= for "
                             f"{len(texts)} texts; expected one each")
        texts = [_text(text, place) for text, place in zip(texts, where)]
        ids = _class_ids(ids, where)
        bad = (ids < 0) | (ids >= self.plan.num_classes)
        _check(bad, "a class id outside 0..N-1="
               f"{self.plan.num_classes - 1}", ids, where)
        if not np.issubdtype(raw_scores.dtype, np.number):
            raise ValueError(f"{span}: scores of dtype {raw_scores.dtype}; "
                             "expected numbers")
        with np.errstate(over="ignore"):
            scores = raw_scores.astype(np.float32)
        kind = self.plan.scores
        _check(*choices.bad_scores(scores, kind), raw_scores, where)
        # an id's second (third...) place in its row, in the row's order
        order = np.argsort(ids, axis=1, kind="stable")
        ordered = np.take_along_axis(ids, order, 1)
        again = np.zeros_like(bad)
        again[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
        repeated = np.zeros_like(bad)
        np.put_along_axis(repeated, order, again, 1)
        _check(repeated, "a class id twice", ids, where)
        label_ids = self._labels(labels, where)
        # As preprocess keeps them: best first, and as the set stores them
        ids, scores = best_first(ids, scores)
        ids = ids.astype(np.int32)
        scores = codec.relative_to_best(tf.constant(scores), self.plan)
        if self._done + len(texts) > self.plan.num_examples:
            raise ValueError(f"{span}: more examples than the "
                             f"num_examples={self.plan.num_examples} "
                             "announced")
        serialized, _ = codec.serialize_batch(
            tf.constant(texts), tf.constant(label_ids, tf.int64),
            tf.constant(ids), tf.constant(scores), self.plan)
        for record in serialized.numpy():
            self._output.write(record)
        self._done += len(texts)

    def _labels(self, labels, where):
        count = len(where)
        space, width = self.plan.label_space, self.plan.label_width
        if self._label_ids is None:
            return space.label_array([()] * count, width)
        if labels is None or len(labels) != count:
            raise ValueError(f"{self.prefix}: {count} texts but labels "
                             f"{'None' if labels is None else len(labels)};"
                             " expected one label each")
        return space.label_array([self._row(row, place) for row, place
                                  in zip(labels, where)], width)

    def _row(self, row, where):
        """One example's class ids, from its label (single-label) or list
        of labels (multi-label), names or ids."""
        most = self.plan.max_labels or 1
        names = self.plan.label_space.as_tuple(row)
        if names is None or not 1 <= len(names) <= most:
            raise ValueError(f"{where} has labels {row!r}; expected a list "
                             f"of 1..max_labels={most} labels")
        ids = [self._label_id(label, where) for label in names]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{where} has labels {list(row)!r}; "
                             "expected each once")
        return ids

    def _label_id(self, label, where):
        """One label's class id, from its id or name."""
        if isinstance(label, (int, np.integer)):
            if not 0 <= label < self.plan.num_classes:
                raise ValueError(f"{where} has label {label}; expected "
                                 f"0..{self.plan.num_classes - 1}")
            return int(label)
        return labels_file.label_id(None if label is None else str(label),
                                    self._label_ids, where)

    def __exit__(self, exc_type, exc, traceback):
        self._output.__exit__(exc_type, exc, traceback)
        self.record_set = self._output.record_set
        self._output = None  # a later write() is refused, not appended
        return False


def _text(text, where):
    """A text as the records keep it: a non-empty `str` (UTF-8 `bytes`
    decoded), as `preprocess` reads its inputs."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"{where} has a text that is not UTF-8 "
                             f"({text[:40]!r}); expected str or UTF-8 bytes"
                             ) from None
    if not isinstance(text, str):
        raise ValueError(f"{where} has a text of type {type(text).__name__}"
                         "; expected str")
    if not text.strip():
        raise ValueError(f"{where} has an empty text; expected a non-empty "
                         "one (as preprocess reads its inputs)")
    return text


def _class_ids(ids, where):
    """Class ids as integers; float ids only when each is a whole number
    (0.5 is no class)."""
    if np.issubdtype(ids.dtype, np.integer):
        return ids.astype(np.int64)
    if not np.issubdtype(ids.dtype, np.floating):
        raise ValueError(f"{where[0]}: class ids of dtype {ids.dtype}; "
                         "expected integers")
    _check(~np.isfinite(ids) | (ids != np.round(ids)),
           "a class id that is not a whole number", ids, where)
    return ids.astype(np.int64)


def best_first(ids, scores, k=None):
    """Each row's (ids, scores) by descending score, ties by lower id (as
    `tf.math.top_k` orders a dense row), the first `k` of them.

    Examples:
        >>> best_first(np.array([[4, 2, 9]]), np.array([[1.0, 3.0, 3.0]]), k=2)
        (array([[2, 9]]), array([[3., 3.]]))
    """
    order = np.lexsort((ids, -scores), axis=1)[:, :k]
    return (np.take_along_axis(ids, order, 1),
            np.take_along_axis(scores, order, 1))


def _check(bad, what, values, where):
    """One line naming the first example of a batch with a bad value."""
    if bad.any():
        row, column = np.argwhere(bad)[0]
        value = values[row, column].item()
        shown = f"{value:.7g}" if isinstance(value, float) else value
        raise ValueError(f"{where[row]} has {what} ({shown} at position "
                         f"{column}); nothing of this run was kept")


def preprocess_sparse(npz_path, input_spec, labels_path, prefix,
                      settings=None, options=None, label_space=None,
                      verbose=1, **keywords):
    """`preprocess` for a teacher's top-K computed elsewhere, in an `.npz`.

    Args:
        npz_path: an `.npz` with `ids` int [n, K0] and `scores` float
            [n, K0], row i for the i-th example of `input_spec`.
        input_spec: as in `preprocess`.
        labels_path: as in `preprocess`.
        prefix: the output prefix, as `preprocess`'s `output_prefix`.
        settings: as in `RecordSetWriter`: `top_k` K <= K0 keeps the K
            best of each row (default, or 0: all K0); `scores` says what
            the file's scores
            are (`"logits"` or `"probabilities"`; per-class sigmoid ones
            in a multi-label space).
        options: as in `preprocess` (its `batch_size`: rows per write,
            default 4096), but for `resume` and `skip_unknown_labels`:
            the file's rows are the input's, all of them, in one run.
        label_space: `MultiLabel()`: the input's examples have one or more
            labels (as `preprocess` reads them) and the scores are a
            sigmoid teacher's: a multi-label set (`max_labels` the most
            labels an example has). Default single-label.
        verbose: 1 prints a summary line.
        **keywords: instead of `settings` or `options`, their fields.

    Returns:
        The `RecordSet` written.

    Raises:
        ValueError: one line naming the file and row (and the input line)
            at fault; nothing of the run is left.
    """
    ids, values = _read_npz(npz_path)
    options = configs.config_from(run_options.PreprocessOptions, options,
                                  keywords, batch_size=4096)
    if options.resume or options.skip_unknown_labels:
        raise ValueError(f"--teacher={npz_path}: a top-K file is written "
                         "whole, row for row of its input (no --resume, no "
                         "--skip_unknown_labels)")
    settings = record_plan.settings_of(settings, keywords, top_k=None,
                                       num_shards=1)
    data_dir, batch_size = options.data_dir, options.batch_size
    top_k = settings.top_k or ids.shape[1]
    if not 1 <= top_k <= ids.shape[1]:
        flag = "--top_h" if settings.unlabeled else "--top_k"
        raise ValueError(f"{flag}={top_k}, but {npz_path} holds "
                         f"{ids.shape[1]} classes per row; expected "
                         f"1..{ids.shape[1]}")
    space = label_space or SingleLabel()
    located = list(inputs.iter_located(input_spec, data_dir,
                                       label_space=space))
    if located and not isinstance(located[0][1], str):
        raise ValueError(f"--teacher={npz_path}: a top-K file writes text "
                         f"records; {input_spec} holds "
                         f"{inputs.kind_of(located[0][1])[0]} inputs (run "
                         "their teacher with preprocess instead)")
    if len(located) != len(ids):
        raise ValueError(f"--teacher={npz_path}: {len(ids)} rows for "
                         f"{len(located)} examples in {input_spec}; expected "
                         "one row each, in order")
    settings = dataclasses.replace(settings, top_k=top_k)
    most = 0 if settings.unlabeled else max(
        len(labels or ()) for _, _, labels in located)
    with RecordSetWriter(prefix, labels_path, len(located), settings,
                         teacher=npz_path, input=input_spec,
                         overwrite=options.overwrite, label_space=space,
                         max_labels=label_rules.RULES[space.kind].max_labels(
                             most)) as writer:
        for start in range(0, len(located), batch_size):
            rows = located[start:start + batch_size]
            batch_ids = np.asarray(ids[start:start + batch_size])
            batch_values = np.asarray(values[start:start + batch_size])
            if top_k < ids.shape[1]:
                batch_ids, batch_values = best_first(batch_ids, batch_values,
                                                     top_k)
            writer.write(
                [text for _, text, _ in rows],
                None if settings.unlabeled else [label for _, _, label in rows],
                batch_ids, batch_values,
                where=[f"--teacher={npz_path}: row {start + i} ({place})"
                       for i, (place, _, _) in enumerate(rows)])
    if verbose:
        print(f"{prefix}: {len(located)} examples in {settings.num_shards} shards "
              f"from {npz_path}")
    return writer.record_set


def _read_npz(npz_path):
    """`(ids, scores)` [examples, K] of a top-K `.npz` file."""
    try:
        with np.load(npz_path, allow_pickle=False) as f:
            ids, values = f["ids"], f["scores"]
    except (OSError, KeyError, ValueError) as e:
        raise ValueError(f"--teacher={npz_path}: expected an .npz with "
                         f"'ids' and 'scores' arrays [examples, K] ({e})"
                         ) from None
    if ids.ndim != 2 or values.shape != ids.shape:
        raise ValueError(f"--teacher={npz_path}: ids {ids.shape} and scores "
                         f"{values.shape}; expected the same [examples, K]")
    return ids, values


def write_record_set(prefix, labels_path, texts, labels, ids, scores,
                     batch_size=4096, **settings):
    """Writes whole arrays with a `RecordSetWriter`; returns the `RecordSet`.

    Args:
        prefix, labels_path: as `RecordSetWriter`.
        texts, labels: n strings and n labels (`None` for unlabeled).
        ids, scores: [n, K] arrays (e.g. memory-mapped from an `.npz`).
        batch_size: examples per write.
        **settings: more `RecordSetWriter` arguments.
    """
    settings.setdefault("top_k", ids.shape[1])
    with RecordSetWriter(prefix, labels_path, len(texts),
                         **settings) as writer:
        for start in range(0, len(texts), batch_size):
            end = start + batch_size
            writer.write(texts[start:end],
                         None if labels is None else labels[start:end],
                         ids[start:end], scores[start:end])
    return writer.record_set
