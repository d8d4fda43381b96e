r"""Run the method end to end on the bundled WordNet data, in one command.

The package ships a teacher's output, not the teacher: all-MiniLM-L6-v2 with
a classification head, run once over WordNet 3.0 noun glosses (4,123
hypernym classes): its top-20 logits for 23,323 labeled glosses, its top-1
pseudo label for 23,323 unlabeled ones, and its top-20 logits for the 11,661
test glosses. The demo trains the distilled student from those records (no
teacher needed) and the same student on the labels alone (each exported as
a SavedModel),
evaluates teacher, distilled and baseline side by side, and classifies a
few texts. --quick trains fewer epochs on part of the data.

Example:
  topk-distill demo --workdir=runs/demo
"""

from absl import flags

FLAGS = flags.FlagValues()
flags.DEFINE_string("workdir", "runs/demo", "Where models and exports go.",
                    flag_values=FLAGS)
flags.DEFINE_bool("quick", False, "A fast run: fewer epochs, fewer "
                  "examples.", flag_values=FLAGS)
flags.DEFINE_integer("epochs", None, "Training epochs (default: 20, or 4 "
                     "with --quick).", lower_bound=1, flag_values=FLAGS)
flags.DEFINE_string("teacher_export", None, "An exported teacher SavedModel "
                    "(benchmarks/serving_bench.py --keep=DIR writes one), to "
                    "measure its speed and size too.", flag_values=FLAGS)

EXAMPLES = ["a large river in Europe flowing into the North Sea",
            "the capital city of an Asian country",
            "a small songbird with brown plumage",
            "a shrub with fragrant white flowers"]

# Chosen by measurement on this data (BENCHMARKS.md, "WordNet accuracy").
LOSS = dict(alpha=0.9, beta=0.5, temperature=2.0, soft_scaling="inverse_t")
TRAINING = dict(batch_size=128, learning_rate=5e-3)


def main(argv):
    import os

    from topk_distill import loss_config, serving, training

    del argv
    data = os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "data", "wordnet")
    labels = os.path.join(data, "labels.txt")
    epochs = FLAGS.epochs or (4 if FLAGS.quick else 20)
    labeled, unlabeled = (os.path.join(data, "labeled"),
                          os.path.join(data, "unlabeled"))
    if FLAGS.quick:
        labeled, unlabeled = _subsets(labeled, unlabeled, FLAGS.workdir)
    runs = {"distilled": dict(unlabeled=unlabeled, loss=loss_config.LossConfig(
                **LOSS)),
            "baseline": dict(baseline="hard")}
    exports = {}
    for name, extra in runs.items():
        print(f"\n== training the {name} student ==")
        output = os.path.join(FLAGS.workdir, name)
        training.train_student(output, labeled=labeled, labels_path=labels,
                               epochs=epochs, **TRAINING, **extra)
        exports[name] = os.path.join(output, "export")
    print("\n== evaluating on the test split ==")
    print(_comparison(data, exports, 1500 if FLAGS.quick else None))
    print("\n== classifying with the distilled student ==")
    for text, (names, scores) in zip(EXAMPLES, serving.classify(
            exports["distilled"], EXAMPLES, top_n=3)):
        print(text)
        for name, value in zip(names, scores):
            print(f"  {value:8.4f}  {name}")


def _subsets(labeled, unlabeled, workdir):
    """The first 6,000 labeled and unlabeled records, for --quick."""
    import os

    from topk_distill import records, shards

    return [shards.copy_records(records.RecordSet.read(prefix),
                                os.path.join(workdir, "quick", name), 6000)
            for name, prefix in (("labeled", labeled),
                                 ("unlabeled", unlabeled))]


def _comparison(data, exports, limit):
    """Teacher, distilled and baseline on the test split (every k-th example
    when `limit` is set). The teacher's accuracy comes from its shipped
    test-set scores; its speed and size only with --teacher_export."""
    import os

    import numpy as np

    from topk_distill import evaluation, inputs, reader

    texts, labels = inputs.read_labeled(
        os.path.join(data, "test.tsv"),
        inputs.read_labels(os.path.join(data, "labels.txt")))
    keep = slice(None, None, len(texts) // limit) if limit else slice(None)
    texts, labels = texts[keep], np.array(labels[keep])
    answers = np.concatenate([
        batch["topk_ids"].numpy() for batch in reader.make_dataset(
            os.path.join(data, "teacher_test"), 4096)])[keep]
    teacher = evaluation.accuracy(answers, labels)
    if FLAGS.teacher_export:
        teacher.update(evaluation.speed(FLAGS.teacher_export, texts))
    table = [("teacher", teacher)] + [
        (name, evaluation.evaluate(path, texts, labels))
        for name, path in exports.items()]
    note = ("" if FLAGS.teacher_export else "\nteacher speed and size: the "
            "teacher is not shipped; pass --teacher_export (an exported "
            "teacher, e.g. from benchmarks/serving_bench.py --keep=DIR)")
    return evaluation.format_table(table) + note
