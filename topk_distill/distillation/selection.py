"""Choosing the student for the user: what `train --student=auto` does.

No student is the best on every dataset (docs/students.md, "Choosing a
student"), and a distilled student is only worth its teacher if it beats
the same student trained on the labels alone. So each candidate
(`candidates`) trains twice, on the labels alone and distilled from the
records, with early stopping on one validation input; the candidates are
ranked by validation P@1 among those that answer within a latency budget
at batch 1 (`rank`); the winner becomes the output, and the table of all
of them is printed and kept (`OUTPUT/choice.json`). Labels-only candidates
are always in the table, so the choice is never worse on validation than
the labels alone.
"""

import dataclasses
import os
import shutil
import time

from topk_distill.distillation import distribute, training, training_config
from topk_distill.utils import configs, json_files, outputs

# What each candidate is trained on.
TRAININGS = ("labels only", "distilled")
# The hidden layer of the widest candidate (helped on Debian's 57 classes).
HIDDEN_UNITS = 512


def candidates(student):
    """The students `--student=auto` tries: {name: `StudentConfig`}.

    `train`'s own student (the mean of 64-d word vectors learnt from the
    records' texts) and fastText's (words and hashed bigrams); with
    `student.init_embeddings` (a `student-init` file) also the normalised
    mean of those vectors, frozen: its output layer started at random, or
    at the class names (`init_class_vectors`), or behind a hidden layer of
    `HIDDEN_UNITS`; with `student.encoder` (a BERT-family checkpoint, the
    fine-tuned teacher's encoder) also the encoder student
    (`student.student_layers` of its layers, `student.layer_choice`).
    Settings that are not the candidates' own (vocabulary size, sampled
    classes) come from `student`.

    Examples:
        >>> list(candidates(training_config.StudentConfig()))
        ['mean', 'bigram']
        >>> chosen = candidates(training_config.StudentConfig(
        ...     init_embeddings="init.npz"))
        >>> list(chosen)
        ['mean', 'bigram', 'init frozen', 'init frozen classes', 'init frozen hidden512']
        >>> chosen["init frozen"].freeze_embeddings, chosen["mean"].init_embeddings
        (True, None)
        >>> list(candidates(training_config.StudentConfig(encoder="teacher/")))
        ['mean', 'bigram', 'encoder']
    """
    learnt = dict(init_embeddings=None, freeze_embeddings=False,
                  normalize=False, hidden_units=0, embedding_dim=64,
                  init_class_vectors=False, encoder=None)
    made = {"mean": dataclasses.replace(student, architecture="mean",
                                        **learnt),
            "bigram": dataclasses.replace(student, architecture="bigram",
                                          **learnt)}
    if student.init_embeddings:
        frozen = dict(architecture="mean", freeze_embeddings=True,
                      normalize=True, hidden_units=0,
                      init_class_vectors=False, encoder=None)
        made["init frozen"] = dataclasses.replace(student, **frozen)
        made["init frozen classes"] = dataclasses.replace(
            student, **dict(frozen, init_class_vectors=True))
        made[f"init frozen hidden{HIDDEN_UNITS}"] = dataclasses.replace(
            student, **dict(frozen, hidden_units=HIDDEN_UNITS))
    if student.encoder:
        default = training_config.StudentConfig()
        made["encoder"] = dataclasses.replace(
            student, **dict(learnt, architecture="encoder",
                            encoder=student.encoder,
                            max_tokens=default.max_tokens,
                            sampled_classes=None))
    return made


def rank(rows, max_latency_ms=None):
    """The rows best first: those within `max_latency_ms` by validation
    P@1 (ties: the faster, then labels only before distilled), then those
    over the budget.

    Args:
        rows: dicts with "candidate", "training", "val_top1",
            "latency_ms".
        max_latency_ms: the budget at batch 1, or `None`.

    Returns:
        (the rows ranked, whether the first one is within the budget).

    Examples:
        >>> rows = [dict(candidate="a", training="labels only", val_top1=0.5,
        ...              latency_ms=1.0),
        ...         dict(candidate="a", training="distilled", val_top1=0.6,
        ...              latency_ms=1.0),
        ...         dict(candidate="b", training="distilled", val_top1=0.7,
        ...              latency_ms=9.0)]
        >>> [(r["candidate"], r["training"]) for r in rank(rows)[0]][:2]
        [('b', 'distilled'), ('a', 'distilled')]
        >>> ranked, fits = rank(rows, max_latency_ms=2.0)
        >>> ranked[0]["candidate"], ranked[-1]["candidate"], fits
        ('a', 'b', True)
    """
    def within(row):
        return max_latency_ms is None or row["latency_ms"] <= max_latency_ms

    ranked = sorted(rows, key=lambda r: (
        not within(r), -r["val_top1"], r["latency_ms"],
        TRAININGS.index(r["training"])))
    return ranked, bool(ranked) and within(ranked[0])


def choose_student(output, data=None, loss=None, student=None, fit=None,
                   choice=None, settings=None, verbose=1, **keywords):
    """Trains every candidate both ways and keeps the best as `output`.

    Each candidate of `candidates(student)` trains on the labels alone
    (`baseline="hard"`) and distilled (`loss`, the labeled and unlabeled
    records), each with early stopping on the validation input
    (`FitConfig`), in `OUTPUT/candidates/`; its export answers single
    validation texts `choice.latency_repeats` times for its median
    latency. The best by validation P@1 within `choice.max_latency_ms`
    (`rank`) is moved to `output` (`student.keras`, `labels.txt`,
    `history.json`, `export`, as `train` writes them); the others are
    removed. `OUTPUT/choice.json` keeps the table and the choice.

    Args:
        output: the output folder.
        data: a `TrainingData`: the labeled record set (required), the
            unlabeled one, and the validation input (required: a labeled
            input of the records' kind, kept from the teacher, see
            docs/students.md, "Choosing a student").
        loss: the distilled candidates' `LossConfig`.
        student: a `StudentConfig` (its `init_embeddings` adds the
            candidates that start from them).
        fit: a `FitConfig` for every candidate.
        choice: a `ChoiceConfig`: the latency budget, how latency is
            timed, whether the candidates' folders stay.
        settings: a dict stored in each candidate's `history.json`.
        verbose: 1 prints a line per candidate and the table, 0 nothing.
        **keywords: instead of `data`, `student`, `fit` or `choice`, their
            fields (`labeled=...`, `epochs=3`, `max_latency_ms=2.0`...).

    Returns:
        The ranked rows (dicts: candidate, training, val_top1,
        kept_epoch, epochs, latency_ms, size_bytes, seconds, settings and,
        with `keep_candidates`, folder), best first.

    Raises:
        ValueError: no validation input, a cluster (`TF_CONFIG`), records
            that hold no texts, an `output` that is not empty, or no
            candidate within `max_latency_ms` (the table is kept).

    Examples:

        ```python
        choose_student("student", labeled="records/train-*",
                       validation="valid.tsv",
                       unlabeled="records/unlabeled-*", max_latency_ms=2.0)
        ```
    """
    data = configs.config_from(training_config.TrainingData, data, keywords)
    choice = configs.config_from(training_config.ChoiceConfig, choice,
                                 keywords)
    student, fit = training_config.configs_of(student, fit, **keywords)
    labeled, unlabeled = _checked(output, data)
    texts = _validation_texts(labeled, unlabeled, data)
    folder = os.path.join(output, "candidates")
    rows = []
    for name, config in candidates(student).items():
        for training_kind in TRAININGS:
            where = os.path.join(folder, f"{name} {training_kind}".replace(
                " ", "_"))
            rows.append(_train_candidate(
                where, name, training_kind, dataclasses.replace(
                    data, labeled=labeled, unlabeled=unlabeled),
                config, fit, loss, texts, choice, settings))
            if verbose:
                row = rows[-1]
                print(f"{name} ({training_kind}): val_top1 "
                      f"{row['val_top1']:.4f} at epoch {row['kept_epoch']} "
                      f"of {row['epochs']}, {row['latency_ms']:.2f} ms a "
                      f"text, {row['seconds']:.0f} s", flush=True)
    budget = choice.max_latency_ms
    ranked, fits = rank(rows, budget)
    _keep(output, folder, ranked, fits, choice.keep_candidates)
    json_files.write_json(os.path.join(output, "choice.json"), {
        "chosen": ({k: ranked[0][k] for k in ("candidate", "training")}
                   if fits else None),
        "max_latency_ms": budget, "validation": data.validation,
        "candidates": ranked})
    if verbose:
        print(format_table(ranked, budget))
    if not fits:
        raise ValueError(
            f"no candidate answers within --max_latency_ms={budget} "
            f"(the fastest: {min(r['latency_ms'] for r in ranked):.2f} ms); "
            f"their table is in {output}/choice.json")
    return ranked


def _checked(output, data):
    """Refuses what `choose_student` cannot do, before any training;
    returns the resolved `(labeled, unlabeled)` record sets."""
    from topk_distill.records import records

    if not data.validation:
        raise ValueError("--student=auto needs --validation: the candidates "
                         "are compared on it")
    if distribute.cluster_config():
        raise ValueError("--student=auto trains on one machine; with "
                         "TF_CONFIG choose a --student")
    if not data.labeled:
        raise ValueError("--student=auto needs --labeled: its labels-only "
                         "candidates train on them")
    labeled = records.resolve(data.labeled)
    unlabeled = records.resolve(data.unlabeled) if data.unlabeled else None
    if labeled.input_kind != "text":
        raise ValueError(f"--student=auto chooses among text students; "
                         f"{labeled.name} holds {labeled.input_kind} inputs")
    outputs.check_writable(output, "--output")
    if os.path.isdir(output) and os.listdir(output):
        raise ValueError(f"--output={output} is not empty; --student=auto "
                         "writes a new folder (remove it, or name another)")
    return labeled, unlabeled


def _validation_texts(labeled, unlabeled, data):
    """The validation file's texts: what each candidate is timed on."""
    from topk_distill.inputs import labels_file

    names = training.class_names([s for s in (labeled, unlabeled) if s],
                                 data.labels_path)
    return labels_file.read_labeled(data.validation, names, data.data_dir,
                                    labeled.label_space)[0]


def _train_candidate(where, name, training_kind, data, config, fit, loss,
                     texts, choice, settings):
    """Trains one candidate one way into `where` and returns its row."""
    from topk_distill.models import saved_model

    alone = training_kind == TRAININGS[0]
    start = time.perf_counter()
    history = training.train_student(
        where, dataclasses.replace(data, unlabeled=None) if alone else data,
        loss=loss, student=config, fit=fit,
        baseline="hard" if alone else None, settings=settings, verbose=0)
    seconds = time.perf_counter() - start
    export = os.path.join(where, "export")
    predict = saved_model.load_saved_model(export).signatures[
        "serving_default"]
    kept = training.kept_epoch(history)
    return dict(
        candidate=name, training=training_kind,
        val_top1=float(history.history["val_top1"][kept - 1]),
        kept_epoch=kept, epochs=len(history.history["loss"]),
        latency_ms=saved_model.latency_ms(predict, texts,
                                          choice.latency_repeats)[0],
        size_bytes=saved_model.saved_model_size(export),
        seconds=round(seconds, 1), folder=where,
        settings=dataclasses.asdict(config))


def _keep(output, folder, ranked, fits, keep_candidates):
    """Copies the winner's files to `output` (when it is within the
    budget) and removes the candidates' folders, or with
    `keep_candidates` keeps them, each row naming its own."""
    if fits:
        best = ranked[0]["folder"]
        for entry in os.listdir(best):
            source = os.path.join(best, entry)
            (shutil.copytree if os.path.isdir(source) else shutil.copy2)(
                source, os.path.join(output, entry))
    for row in ranked:
        where = row.pop("folder")
        if keep_candidates:
            row["folder"] = os.path.relpath(where, output)
        else:
            shutil.rmtree(where)
    if not keep_candidates:
        os.rmdir(folder)


def format_table(ranked, max_latency_ms=None):
    """The choice as a table: a row per candidate, its validation P@1 on
    the labels alone and distilled, latency and size; the winner marked.

    Examples:
        >>> rows = [dict(candidate="mean", training="distilled", val_top1=0.6,
        ...              latency_ms=1.04, size_bytes=2_500_000),
        ...         dict(candidate="mean", training="labels only",
        ...              val_top1=0.5, latency_ms=1.02, size_bytes=2_500_000)]
        >>> print(format_table(rows))
        candidate  labels only  distilled  ms/text  MB
        mean            0.5000   0.6000 *     1.04  2.5
        * chosen: mean, distilled
    """
    names = list(dict.fromkeys(r["candidate"] for r in ranked))
    width = max(len("candidate"), *map(len, names))
    lines = [f"{'candidate':<{width}}  labels only  distilled  ms/text  MB"]
    best = ranked[0]
    within = max_latency_ms is None or best["latency_ms"] <= max_latency_ms
    for name in names:
        mine = {r["training"]: r for r in ranked if r["candidate"] == name}
        cells = []
        for kind in TRAININGS:
            row = mine.get(kind)
            mark = " *" if row is best and within else "  "
            cells.append(f"{row['val_top1']:.4f}{mark}" if row else
                         " " * 8)
        any_row = next(iter(mine.values()))
        lines.append(f"{name:<{width}}  {cells[0]:>11}  {cells[1]:>9}  "
                     f"{any_row['latency_ms']:7.2f}  "
                     f"{any_row['size_bytes'] / 1e6:.1f}")
    lines.append(f"* chosen: {best['candidate']}, {best['training']}"
                 if within else f"none within {max_latency_ms} ms")
    return "\n".join(lines)
