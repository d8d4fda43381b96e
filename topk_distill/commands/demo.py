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
                    "(benchmarks/wordnet_teacher.py writes one), to measure "
                    "its speed and size too.", flag_values=FLAGS)

EXAMPLES = ["a large river in Europe flowing into the North Sea",
            "the capital city of an Asian country",
            "a small songbird with brown plumage",
            "a shrub with fragrant white flowers"]

# Chosen by measurement on this data (BENCHMARKS.md, "WordNet accuracy").
SETTINGS = dict(alpha=0.9, beta=0.5, temperature=2.0,
                soft_scaling="inverse_t", batch_size=128, learning_rate=5e-3)


def main(argv):
    import os

    from topk_distill import cli, records

    del argv
    data = os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "data", "wordnet")
    epochs = FLAGS.epochs or (4 if FLAGS.quick else 20)
    labeled, unlabeled = (os.path.join(data, "labeled-*"),
                          os.path.join(data, "unlabeled-*"))
    if FLAGS.quick:
        labeled, unlabeled = _subsets(records, data, FLAGS.workdir)
    common = [f"--labels={data}/labels.txt", f"--epochs={epochs}"] + [
        f"--{key}={value}" for key, value in SETTINGS.items()
        if key in ("batch_size", "learning_rate")]
    runs = {
        "distilled": [f"--labeled={labeled}", f"--unlabeled={unlabeled}"] + [
            f"--{key}={value}" for key, value in SETTINGS.items()
            if key not in ("batch_size", "learning_rate")],
        "baseline": [f"--labeled={labeled}", "--baseline=hard"],
    }
    exports = {}
    for name, extra in runs.items():
        print(f"\n== training the {name} student ==")
        model_dir = os.path.join(FLAGS.workdir, name)
        _run(cli, ["train", f"--output={model_dir}"] + common + extra)
        exports[name] = os.path.join(model_dir, "export")
    print("\n== evaluating on the test split ==")
    print(_comparison(data, exports, 1500 if FLAGS.quick else None))
    print("\n== classifying with the distilled student ==")
    _run(cli, ["classify", f"--model={exports['distilled']}", "--top_n=3"]
         + EXAMPLES)


def _run(cli, args):
    code = cli.main(["topk-distill"] + args)
    if code:
        raise RuntimeError(f"topk-distill {args[0]} failed (exit {code})")


def _subsets(records, data, workdir):
    """The first 6,000 labeled and unlabeled records, for --quick."""
    import os

    import tensorflow as tf

    patterns = []
    for name in ("labeled", "unlabeled"):
        source = os.path.join(data, f"{name}-00000-of-00001.tfrecord.gz")
        metadata = records.read_metadata(source)
        prefix = os.path.join(workdir, "quick", name)
        with records.ShardWriter(prefix, 6000, 1, "gzip") as writer:
            for record in tf.data.TFRecordDataset(source, "GZIP").take(6000):
                writer.write(record.numpy())
        records.write_metadata(prefix, dict(
            metadata, num_examples=6000,
            shards=[{"file": os.path.basename(writer.path(0)),
                     "examples": 6000}]))
        patterns.append(prefix + "-*")
    return patterns


def _comparison(data, exports, limit):
    """Teacher, distilled and baseline on the test split (every k-th example
    when `limit` is set). The teacher's accuracy comes from its shipped
    test-set scores; its speed and size only with --teacher_export."""
    import os

    import numpy as np

    from topk_distill import evaluation, inputs, records
    from topk_distill.commands.evaluate import format_table

    texts, labels = inputs.read_labeled(
        os.path.join(data, "test.tsv"),
        inputs.read_labels(os.path.join(data, "labels.txt")))
    keep = slice(None, None, len(texts) // limit) if limit else slice(None)
    texts, labels = texts[keep], np.array(labels[keep])
    answers = np.concatenate([
        batch["topk_ids"].numpy() for batch in records.make_dataset(
            os.path.join(data, "teacher_test-*"), 4096)])[keep]
    teacher = evaluation.accuracy(answers, labels)
    if FLAGS.teacher_export:
        teacher.update(evaluation.speed(FLAGS.teacher_export, texts))
    table = [("teacher", teacher)] + [
        (name, evaluation.evaluate(path, texts, labels))
        for name, path in exports.items()]
    note = ("" if FLAGS.teacher_export else "\nteacher speed and size: the "
            "teacher is not shipped; pass --teacher_export (an exported "
            "teacher, e.g. from benchmarks/serving_bench.py --keep=DIR)")
    return format_table(table) + note
