r"""Run the method end to end on the bundled WordNet data, in one command.

The package ships a teacher's output, not the teacher: all-MiniLM-L6-v2 with
a classification head, run once over WordNet 3.0 noun glosses (4,123
hypernym classes): for 23,323 labeled glosses its sampled targets (20 draws
at T=2) and, as the method keeps them, its top-20 logits; for
23,323 unlabeled ones its soft targets (20 draws at T=1) and its top-1
pseudo label; its top-20 logits for the 11,661 test glosses; and word
vectors made from its fine-tuned encoder and from the pretrained one
(`topk-distill student-init`: each of the student's 20,000 words, averaged
over its uses, PCA to 256). The demo trains the distilled student (the
fine-tuned encoder's vectors, frozen, averaged and normalised, then a
linear layer) from the sampled and soft records (no teacher needed), the
best student that uses nothing of the teacher (the same model with the
pretrained encoder's vectors, on the labels alone: "labels-only") and,
with --reference, the reference student (64-d word vectors learnt from
scratch) both ways ("ref-..."), each exported as a SavedModel; evaluates
them beside the teacher, and classifies a few texts. --quick trains fewer
epochs on part of the data.

Examples:
      topk-distill demo --workdir=runs/demo
"""

from absl import flags

from topk_distill.models import choices

FLAGS = flags.FlagValues()
flags.DEFINE_string("workdir", "runs/demo", "Where models and exports go.",
                    flag_values=FLAGS)
flags.DEFINE_bool("quick", False, "A fast run: fewer epochs, fewer "
                  "examples.", flag_values=FLAGS)
flags.DEFINE_integer("epochs", None, "Training epochs (default: "
                     f"{choices.EPOCHS}, or 4 with --quick).", lower_bound=1,
                     flag_values=FLAGS)
flags.DEFINE_bool("reference", False, "Also train the reference student "
                  "(64-d vectors learnt from scratch), distilled and on the "
                  "labels alone (about twice the time).", flag_values=FLAGS)
flags.DEFINE_string("teacher_export", None, "An exported teacher SavedModel "
                    "(benchmarks/serving_bench.py --keep=DIR writes one), to "
                    "measure its speed and size too.", flag_values=FLAGS)

EXAMPLES = ["a large river in Europe flowing into the North Sea",
            "the capital city of an Asian country",
            "a small songbird with brown plumage",
            "a shrub with fragrant white flowers"]

# Chosen by measurement on this data (BENCHMARKS.md, issue 23): each
# student's records, loss settings (None: the labels alone) and model. The
# distilled student takes the teacher's records and word vectors from its
# fine-tuned encoder; "labels-only" is the best student that uses nothing
# of the teacher: the labels and the pretrained encoder's vectors.
DISTILLED = dict(alpha=0.9, beta=0.5, temperature=2.0, soft_scaling="t2")
STUDENT = dict(init_embeddings="student_init.npz", freeze_embeddings=True,
               normalize=True)
TEACHER_VECTORS = dict(STUDENT, init_embeddings="student_init_fine_tuned.npz")
RUNS = {
    "distilled": ("labeled_sampled", "unlabeled_soft", DISTILLED,
                  TEACHER_VECTORS),
    "labels-only": ("labeled_sampled", None, None, STUDENT),
    # with --reference
    "ref-distilled": ("labeled_sampled", "unlabeled_soft", DISTILLED, {}),
    "ref-labels-only": ("labeled_sampled", None, None, {}),
}
# train's defaults (the demo runs without a validation input).
TRAINING = dict(batch_size=128, learning_rate=choices.LEARNING_RATE)


def main(argv):
    import os

    from topk_distill.distillation import loss_config, training
    from topk_distill.models import saved_model
    from topk_distill.serving import classification

    del argv
    if FLAGS.teacher_export:
        saved_model.require_saved_model(FLAGS.teacher_export, "teacher_export")
    data = os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "data", "wordnet")
    labels = os.path.join(data, "labels.txt")
    epochs = FLAGS.epochs or (4 if FLAGS.quick else choices.EPOCHS)
    sets = {name: os.path.join(data, name) for name in (
        "labeled_sampled", "unlabeled_soft")}
    if FLAGS.quick:
        sets = _subsets(sets, FLAGS.workdir)
    exports = {}
    for name, (labeled, unlabeled, loss, model) in chosen_runs(
            FLAGS.reference).items():
        print(f"\n== training the {name} student ==")
        output = os.path.join(FLAGS.workdir, name)
        if "init_embeddings" in model:
            model = dict(model, init_embeddings=os.path.join(
                data, model["init_embeddings"]))
        training.train_student(
            output, labeled=sets[labeled],
            unlabeled=sets[unlabeled] if unlabeled else None,
            baseline=None if loss else "hard", labels_path=labels,
            loss=loss_config.LossConfig(**loss) if loss else None,
            epochs=epochs, **TRAINING, **model)
        exports[name] = os.path.join(output, "export")
    print("\n== evaluating on the test split ==")
    print(_comparison(data, exports, 1500 if FLAGS.quick else None))
    print("\n== classifying with the distilled student ==")
    for text, (names, scores) in zip(EXAMPLES, classification.classify(
            exports["distilled"], EXAMPLES, top_n=3)):
        print(text)
        for name, value in zip(names, scores):
            print(f"  {value:8.4f}  {name}")


def chosen_runs(reference):
    """The students the demo trains: RUNS, without the reference student's
    two unless `reference`.

    Examples:
        >>> list(chosen_runs(False))
        ['distilled', 'labels-only']
        >>> len(chosen_runs(True))
        4
    """
    return {name: run for name, run in RUNS.items()
            if reference or not name.startswith("ref-")}


def _subsets(sets, workdir):
    """The first 6,000 records of each set, for --quick."""
    import os

    from topk_distill.records import records, writing

    return {name: writing.copy_records(records.RecordSet.read(prefix),
                                       os.path.join(workdir, "quick", name),
                                       6000)
            for name, prefix in sets.items()}


def _comparison(data, exports, limit):
    """Teacher, distilled and baseline on the test split (every k-th example
    when `limit` is set). The teacher's accuracy comes from its shipped
    test-set scores; its speed and size only with --teacher_export."""
    import os

    import numpy as np

    from topk_distill.inputs import labels_file
    from topk_distill.inputs.label_space import SingleLabel
    from topk_distill.records import reader
    from topk_distill.serving import evaluation

    texts, labels = labels_file.read_labeled(
        os.path.join(data, "test.tsv"),
        labels_file.read_labels(os.path.join(data, "labels.txt")))
    keep = slice(None, None, len(texts) // limit) if limit else slice(None)
    texts, labels = texts[keep], labels[keep]
    # The teacher's answers, best first (q8 records keep ids ascending).
    answers = np.concatenate([
        np.take_along_axis(batch["topk_ids"].numpy(), np.argsort(
            -batch["topk_scores"].numpy(), axis=1, kind="stable"), 1)
        for batch in reader.make_dataset(os.path.join(data, "teacher_test"),
                                         4096)])[keep]
    teacher = SingleLabel().report(answers, None, labels)
    if FLAGS.teacher_export:
        teacher.update(evaluation.speed(FLAGS.teacher_export, texts))
    table = [("teacher", teacher)] + [
        (name, evaluation.evaluate(path, texts, labels))
        for name, path in exports.items()]
    note = ("" if FLAGS.teacher_export else "\nteacher speed and size: the "
            "teacher is not shipped; pass --teacher_export (an exported "
            "teacher, e.g. from benchmarks/serving_bench.py --keep=DIR)")
    return evaluation.format_table(table) + note
