"""WordNet students distilled from the fine-tuned teacher, against the best
student that uses no teacher output.

Usage:
  python examples/wordnet/fine_tune_teacher.py ... --work=/tmp/wordnet  (once)
  python benchmarks/fine_tuned_students.py --work=/tmp/wordnet --seeds=3 \
    [--teacher=fine_tuned|bundle] [--only="NAME;NAME..."] [--report]

Writes record sets (q8, as the bundle's) from the scores fine_tune_teacher.py
saved in WORK/TEACHER/: the labeled split's targets from the out-of-fold
teachers (`oof`) or from the teacher that trained on them (`infold`), 20
draws at T=2; the unlabeled split's soft pseudo targets (20 draws at T=1);
transfer sets of 3x and 5x the labeled split's size (the unlabeled glosses,
then one or two augmented copies of every labeled and unlabeled gloss: a
copy of a labeled gloss scored by the out-of-fold teacher that did not see
its original, a copy of an unlabeled one by the full teacher). Then trains
each configuration of CONFIGS for each seed (the demo's batch and learning
rate; the unlabeled set drawn `r` times per labeled example, r = the
transfer set's size over the labeled split's) and reports test P@1, P@5,
ECE (15 bins), training seconds and, with --validation=0.1, P@1 on a
random 10% of the labeled split (seed 0), which then trains no student: a
validation split to choose students and a, b, T on (the bundled
frozen-teacher records hold those rows too, so that row's validation P@1
is not one). Before 2026-12-04 the validation part was the labeled
split's last 10%, rows that the split keeps in the TSV's order (WordNet's
by synset offset, Debian's by package name): not a sample of the split. Baseline = the demo's student (the bundled pretrained-encoder
word vectors, frozen, normalised mean, linear layer) on the labels alone.
The `ft vectors` students start from the fine-tuned encoder's word vectors
instead (`topk-distill student-init --encoder=WORK/TEACHER/encoder
--output=WORK/TEACHER/student_init.npz`, the bundle's inputs and width).
With --teacher=bundle the bundle's own record sets (made from the same
full teacher by build_data.py --scores) train the `infold` and `unl_soft`
configurations, and its student_init_fine_tuned.npz gives the `ft vectors`:
no fine_tune_teacher.py run is needed (the transfer and `oof`
configurations are). Results are cached in WORK/fine_tuned_students.json
by configuration, seed and code version.

Another dataset in the same three columns (examples/debian/prepare.py's
Debian package descriptions): --tsv=ITS_TSV --work=ITS_WORK after
fine_tune_teacher.py ran on it, with --pretrained_init=an .npz that
`student-init` made from the pretrained encoder on WORK/labeled.tsv and
WORK/unlabeled.tsv (this script writes them first).
"""

import argparse
import os
import shutil
import sys
import time

import keras
import numpy as np

import runs
import wordnet_accuracy
from topk_distill.distillation import mixer, student
from topk_distill.distillation.loss_config import LossConfig
from topk_distill.inputs import labels_file
from topk_distill.models import student_init, text_models
from topk_distill.preprocessing import preprocessing
from topk_distill.records import file_names, reader, records, writing
from topk_distill.utils import json_files, metrics
from topk_distill.commands.demo import TRAINING
from topk_distill.teachers.teacher import load_teacher

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "examples", "wordnet"))
import data  # noqa: E402  (examples/wordnet/data.py: the fixed split)

BUNDLE = os.path.join(ROOT, "topk_distill", "data", "wordnet")
HARD = dict(alpha=1.0, beta=0.0, strict=False)
DISTILLED = dict(alpha=0.9, beta=0.5, temperature=2.0, soft_scaling="t2")
FROZEN = dict(init="pretrained", frozen=True, normalize=True, dim=256)
FT_FROZEN = dict(FROZEN, init="fine_tuned")


def config(labeled="oof", unlabeled=None, loss=DISTILLED, ratio=1.0,
           epochs=20, student=FROZEN):
    return dict(labeled=labeled, unlabeled=unlabeled, loss=loss, ratio=ratio,
                epochs=epochs, **student)


CONFIGS = {
    "baseline: labels only": config(loss=HARD),
    "frozen teacher: bundled records": config(labeled="bundle_sampled",
                                              unlabeled="bundle_soft"),
    "oof + unlabeled": config(unlabeled="unl_soft"),
    "infold + unlabeled": config(labeled="infold", unlabeled="unl_soft"),
    "oof only": config(),
    "infold only": config(labeled="infold"),
    "oof + transfer 3x": config(unlabeled="transfer3", ratio=3.0),
    "oof + transfer 5x": config(unlabeled="transfer5", ratio=5.0),
    "oof + unlabeled a=0.7 b=0.7": config(unlabeled="unl_soft", loss=dict(
        DISTILLED, alpha=0.7, beta=0.7)),
    "oof + unlabeled T=1": config(unlabeled="unl_soft", loss=dict(
        DISTILLED, temperature=1.0)),
    "ft vectors: labels only": config(loss=HARD, student=dict(
        FROZEN, init="fine_tuned")),
    "ft vectors: infold + unlabeled": config(
        labeled="infold", unlabeled="unl_soft",
        student=dict(FROZEN, init="fine_tuned")),
    "ft vectors trainable: labels only": config(loss=HARD, student=dict(
        FROZEN, init="fine_tuned", frozen=False)),
    "ft vectors trainable: infold + unlabeled": config(
        labeled="infold", unlabeled="unl_soft",
        student=dict(FROZEN, init="fine_tuned", frozen=False)),
    "ft vectors cnn: labels only": config(loss=HARD, student=dict(
        FROZEN, init="fine_tuned", architecture="cnn")),
    "ft vectors cnn: infold + unlabeled": config(
        labeled="infold", unlabeled="unl_soft",
        student=dict(FROZEN, init="fine_tuned", architecture="cnn")),
    # the winner on transfer sets of 3x and 5x the labeled split: the
    # unlabeled glosses and 2 or 4 augmented copies of each, all scored by
    # the full teacher (fine_tune_teacher.py --more_copies=2)
    "ft vectors: infold + transfer 3x": config(
        labeled="infold", unlabeled="unl_transfer3", ratio=3.0,
        student=FT_FROZEN),
    "ft vectors: infold + transfer 5x": config(
        labeled="infold", unlabeled="unl_transfer5", ratio=5.0,
        student=FT_FROZEN),
    # a, b, T around the winner's (0.9, 0.5, 2), chosen on --validation
    **{f"ft vectors: infold + unlabeled {name}": config(
        labeled="infold", unlabeled="unl_soft", student=FT_FROZEN,
        loss=dict(DISTILLED, **change))
       for name, change in (
           ("a=0.7", dict(alpha=0.7)), ("a=0.8", dict(alpha=0.8)),
           ("b=0.2", dict(beta=0.2)), ("b=0.8", dict(beta=0.8)),
           ("T=1", dict(temperature=1.0)), ("T=4", dict(temperature=4.0)),
           # the second round, around the first's best (b=0.8)
           ("b=0.9", dict(beta=0.9)),
           ("a=0.8 b=0.8", dict(alpha=0.8, beta=0.8)),
           ("b=0.8 T=1", dict(beta=0.8, temperature=1.0)))},
    "ref64 labels only": config(loss=HARD, student=dict(dim=64)),
    "ref64 oof + unlabeled": config(unlabeled="unl_soft",
                                    student=dict(dim=64)),
    # the candidates a user on other data tries on the labels alone (the
    # Debian package descriptions, examples/debian/prepare.py): `train`'s
    # own defaults (mean of 64-wide vectors learned from scratch, Adam
    # 1e-3, 10 epochs), the pretrained vectors left trainable, fastText's
    # bigrams; each beside its distilled twin (in-fold labeled targets and
    # the unlabeled set's soft pseudo targets)
    **{f"{name}: {kind}": config(
        labeled="infold", unlabeled=None if kind == "labels only"
        else "unl_soft", loss=HARD if kind == "labels only" else DISTILLED,
        epochs=epochs, student=student_settings)
       for name, epochs, student_settings in (
           ("train defaults", 10, dict(dim=64, learning_rate=1e-3)),
           ("ref64 bigram", 20, dict(dim=64, architecture="bigram")),
           ("pretrained trainable", 20, dict(FROZEN, frozen=False)),
           ("ft vectors trainable normalize off", 20, dict(
               FT_FROZEN, frozen=False, normalize=False)),
           # a hidden ReLU layer on the frozen vectors: more capacity for
           # what the teacher's targets say
           ("ft vectors hidden512", 20, dict(FT_FROZEN, hidden_units=512)),
           ("pretrained hidden512", 20, dict(FROZEN, hidden_units=512)))
       for kind in ("labels only", "infold + unlabeled")},
}

MODULES = wordnet_accuracy.MODULES + ("student_init",)


def code_version():
    return wordnet_accuracy.code_version(MODULES, [os.path.abspath(__file__)])


def split_files(work, tsv, validation):
    """WORK/{labeled,unlabeled,test}.tsv (build_data.py's split). Returns
    the labeled rows kept for training, ascending: all of them, or all but
    a random `validation` part (seed 0)."""
    texts, classes = data.load(tsv)
    parts = data.split(len(texts))
    for name, rows in parts.items():
        path = os.path.join(work, f"{name}.tsv")
        if not os.path.exists(path):
            data.write_tsv(path, [texts[i] for i in rows],
                           [classes[i] if name != "unlabeled" else None
                            for i in rows])
    count = len(parts["labeled"])
    held = int(round(count * validation))
    order = np.random.default_rng(0).permutation(count)
    return np.sort(order[held:])


def bundle_records(work, keep, validation):
    """The bundle's record sets, made from the full fine-tuned teacher
    (build_data.py --scores): `infold` (its labeled_sampled, the rows
    `keep` when a validation part is kept apart) and
    `unl_soft`; for a machine without fine_tune_teacher.py's outputs."""
    made = {"unl_soft": records.RecordSet.read(os.path.join(
        BUNDLE, "unlabeled_soft"))}
    source = records.RecordSet.read(os.path.join(BUNDLE, "labeled_sampled"))
    if len(keep) == source.num_examples:
        made["infold"] = source
        return made
    folder = os.path.join(work, f"records_bundle_random{validation:g}")
    prefix = os.path.join(folder, "infold")
    if not os.path.exists(file_names.metadata_path(prefix)):
        os.makedirs(folder, exist_ok=True)
        writing.copy_records(source, prefix, rows=keep)
    made["infold"] = records.RecordSet.read(prefix)
    return made


def teacher_test_top1():
    """The teacher's best class for each test gloss, from the bundle's
    `teacher_test` records (q8 records keep their ids ascending)."""
    return np.concatenate([
        np.take_along_axis(batch["topk_ids"].numpy(), np.argmax(
            batch["topk_scores"].numpy(), axis=1)[:, None], 1)[:, 0]
        for batch in reader.make_dataset(os.path.join(BUNDLE, "teacher_test"),
                                         4096)])


def make_records(work, teacher, keep, validation):
    """Writes (once) the record sets; returns {name: RecordSet}."""
    if teacher == "bundle":
        return bundle_records(work, keep, validation)
    source = os.path.join(work, teacher)
    folder = os.path.join(
        work, f"records_{teacher}_" + (f"random{validation:g}" if validation
                                       else "v0"))
    os.makedirs(folder, exist_ok=True)
    labels = os.path.join(work, "labels.txt")
    sampled = dict(targets="sampled", samples=20, sampling_temperature=2.0)
    soft = dict(targets="sampled", samples=20, sampling_temperature=1.0,
                unlabeled=True)
    with open(os.path.join(work, "labeled.tsv"), encoding="utf-8") as f:
        labeled_lines = f.readlines()
    train_tsv = os.path.join(folder, "train.tsv")
    if not os.path.exists(train_tsv):
        with open(train_tsv, "w", encoding="utf-8") as f:
            f.writelines(labeled_lines[i] for i in keep)
    jobs = {"oof": (train_tsv, "labeled_oof_logits.npy", keep, sampled),
            "infold": (train_tsv, "labeled_logits.npy", keep, sampled),
            "unl_soft": (os.path.join(work, "unlabeled.tsv"),
                         "unlabeled_logits.npy", None, soft)}
    for ratio, parts in ((3, ("unlabeled_aug",)),
                         (5, ("unlabeled_aug", "unlabeled_aug2"))):
        if all(os.path.exists(os.path.join(source, f"{p}_logits.npy"))
               for p in parts):
            jobs[f"unl_transfer{ratio}"] = (
                *unlabeled_transfer_set(work, source, folder, ratio, parts),
                None, soft)
    if not os.path.exists(os.path.join(source, "labeled_oof_logits.npy")):
        # fine_tune_teacher.py --skip_folds: no out-of-fold scores
        del jobs["oof"]
    else:
        for copies in (1, 2):
            jobs[f"transfer{1 + 2 * copies}"] = (
                *transfer_set(source, folder, copies, keep), None, soft)
    made = {}
    for name, (tsv, scores, rows, settings) in jobs.items():
        prefix = os.path.join(folder, name)
        if not os.path.exists(prefix + ".meta.json"):
            logits = np.load(os.path.join(source, scores))
            if rows is not None:
                logits = logits[rows]
            path = os.path.join(folder, f"{name}_logits.npy")
            np.save(path, logits.astype(np.float32))
            preprocessing.preprocess(
                load_teacher(path), tsv, labels, prefix, num_shards=2,
                score_dtype="q8", seed=0, overwrite=True, verbose=0,
                **settings)
            os.remove(path)
        made[name] = records.RecordSet.read(prefix)
    for name in ("sampled", "soft"):
        made[f"bundle_{name}"] = records.RecordSet.read(os.path.join(
            BUNDLE, "labeled_sampled" if name == "sampled"
            else "unlabeled_soft"))
    return made


def unlabeled_transfer_set(work, source, folder, ratio, parts):
    """The unlabeled glosses and the augmented copies in `parts` (each
    scored by the full teacher): (TSV, logits file name)."""
    tsv = os.path.join(folder, f"unl_transfer{ratio}.tsv")
    name = f"unl_transfer{ratio}_logits.npy"
    if not (os.path.exists(tsv) and os.path.exists(
            os.path.join(source, name))):
        with open(os.path.join(work, "unlabeled.tsv"), encoding="utf-8") as f:
            texts = [line.rstrip("\n") for line in f]
        logits = [np.load(os.path.join(source, "unlabeled_logits.npy"))]
        for part in parts:
            with open(os.path.join(source, f"{part}.tsv"),
                      encoding="utf-8") as f:
                texts += [line.rstrip("\n").split("\t")[0] for line in f]
            logits.append(np.load(os.path.join(source, f"{part}_logits.npy")))
        with open(tsv, "w", encoding="utf-8") as f:
            f.writelines(text + "\n" for text in texts)
        np.save(os.path.join(source, name), np.concatenate(logits))
    return tsv, name


def transfer_set(source, folder, copies, keep):
    """The unlabeled glosses, then `copies` augmented copies of each
    unlabeled and each training gloss: (TSV, logits file name)."""
    tsv = os.path.join(folder, f"transfer{1 + 2 * copies}.tsv")
    name = f"transfer{1 + 2 * copies}_logits.npy"
    if os.path.exists(os.path.join(folder, name[:-len("_logits.npy")]
                                   + ".meta.json")):
        return tsv, name
    texts, logits = [], []
    with open(os.path.join(os.path.dirname(source), "unlabeled.tsv"),
              encoding="utf-8") as f:
        texts += [line.rstrip("\n") for line in f]
    logits.append(np.load(os.path.join(source, "unlabeled_logits.npy")))
    kept = np.zeros(len(np.load(os.path.join(
        source, "labeled_oof_logits.npy"), mmap_mode="r")), bool)
    kept[keep] = True
    for split, scores, allowed in (
            ("unlabeled", "unlabeled_aug_logits.npy", None),
            ("labeled", "labeled_aug_logits.npy", kept)):
        with open(os.path.join(source, f"{split}_aug.tsv"),
                  encoding="utf-8") as f:
            pairs = [line.rstrip("\n").split("\t") for line in f]
        rows = np.array([int(p[1]) for p in pairs])
        # the first `copies` copies of each original (augment keeps an
        # original's copies together, in order)
        rank = np.arange(len(rows)) - np.searchsorted(rows, rows)
        chosen = rank < copies
        if allowed is not None:
            chosen &= allowed[rows]
        texts += [pairs[i][0] for i in np.flatnonzero(chosen)]
        logits.append(np.load(os.path.join(source, scores))[chosen])
    with open(tsv, "w", encoding="utf-8") as f:
        f.writelines(text + "\n" for text in texts)
    np.save(os.path.join(source, name), np.concatenate(logits))
    return tsv, name


def run(made, settings, seed, test, valid, inits):
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    # on the labels alone any labeled set serves (their labels are the same)
    labeled_set = made[settings["labeled"] if settings["labeled"] in made
                       or settings["loss"] is not HARD else "infold"]
    unlabeled_set = (made[settings["unlabeled"]]
                     if settings["unlabeled"] and settings["loss"] is not HARD
                     else None)
    batches = mixer.make_distillation_dataset(
        labeled_set, unlabeled_set, batch_size=TRAINING["batch_size"],
        seed=seed, unlabeled_per_labeled=settings["ratio"])
    n = labeled_set.num_classes
    embeddings = (student_init.load(inits[settings["init"]])
                  if settings.get("init") else None)
    net = text_models.make_student(
        reader.texts([s for s in (labeled_set, unlabeled_set) if s]), n,
        embedding_dim=settings["dim"], embeddings=embeddings,
        architecture=settings.get("architecture", "mean"),
        train_embeddings=not settings.get("frozen"),
        normalize=settings.get("normalize", False),
        hidden_units=settings.get("hidden_units", 0))
    model = student.DistillationStudent(
        net, n, loss=LossConfig(**settings["loss"]))
    model.compile(optimizer=keras.optimizers.Adam(
        settings.get("learning_rate", TRAINING["learning_rate"]),
        global_clipnorm=settings.get("clipnorm")))
    start = time.perf_counter()
    model.fit(batches, epochs=settings["epochs"], verbose=0, shuffle=False)
    seconds = time.perf_counter() - start
    out = {"train_seconds": seconds}
    for split, (texts, labels) in (("test", test), ("valid", valid)):
        logits = net.predict(np.array(texts, object), batch_size=1024,
                             verbose=0)
        probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(logits))
        answers = np.argsort(-probabilities, axis=1)[:, :5]
        labels = labels_file.class_ids(labels)
        prefix = "" if split == "test" else "valid_"
        out[prefix + "p@1"] = metrics.top_k_accuracy(answers, labels, 1)
        if split == "test":
            out["p@5"] = metrics.top_k_accuracy(answers, labels, 5)
            out["ece"] = metrics.expected_calibration_error(probabilities,
                                                               labels)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", required=True)
    parser.add_argument("--tsv", default=os.path.join(
        ROOT, "..", "shared", "data", "wordnet_noun_glosses.tsv"))
    parser.add_argument("--teacher", default="fine_tuned")
    parser.add_argument("--validation", type=float, default=0.0,
                        help="part of the labeled split kept apart to "
                        "choose settings on (0: all of it trains)")
    parser.add_argument("--pretrained_init", default=os.path.join(
        BUNDLE, "student_init.npz"), help="the pretrained encoder's word "
        "vectors for the texts of --tsv (student-init)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--only", default="")
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    keep = split_files(args.work, args.tsv, args.validation)
    if args.teacher == "bundle" and not os.path.exists(
            os.path.join(args.work, "labels.txt")):
        shutil.copy(os.path.join(BUNDLE, "labels.txt"), args.work)
    names = labels_file.read_labels(os.path.join(args.work, "labels.txt"))
    made = make_records(args.work, args.teacher, keep, args.validation)
    test = labels_file.read_labeled(os.path.join(args.work, "test.tsv"), names)
    labeled = labels_file.read_labeled(os.path.join(args.work, "labeled.tsv"),
                                       names)
    # without a validation part, the last 10% of the labeled split (which
    # then trained every student) stands in: its P@1 is not a validation.
    held = np.setdiff1d(np.arange(len(labeled[0])), keep)
    if not len(held):
        held = np.arange(int(0.9 * len(keep)), len(keep))
    valid = ([labeled[0][i] for i in held], [labeled[1][i] for i in held])
    version = code_version()
    run_name = f"{args.teacher} v{args.validation:g}"
    out = os.path.join(args.work, "fine_tuned_students.json")
    results = json_files.read_json(out) or {}
    chosen = args.only.split(";") if args.only else list(CONFIGS)
    # word vectors: the bundled ones (the pretrained encoder's), and
    # `student-init` run with the fine-tuned teacher's encoder
    # (WORK/TEACHER/encoder, saved by fine_tune_teacher.py) into
    # WORK/TEACHER/student_init.npz
    inits = {"pretrained": args.pretrained_init,
             "fine_tuned": os.path.join(args.work, args.teacher,
                                        "student_init.npz")}
    if args.teacher == "bundle":
        # the bundle's copy of the same file, and the teacher's test top-1
        # from its stored test records
        inits["fine_tuned"] = os.path.join(BUNDLE,
                                           "student_init_fine_tuned.npz")
        teacher_top1 = teacher_test_top1()
    else:
        teacher_top1 = np.load(os.path.join(args.work, args.teacher,
                                            "test_logits.npy")).argmax(1)
    teacher_p1 = float(np.mean(teacher_top1 == labels_file.class_ids(test[1])))
    for seed in range(0 if args.report else args.seeds):
        for name in chosen:
            key = f"{run_name}|{name}|{seed}|{version}"
            if key in results:
                continue
            results[key] = run(made, CONFIGS[name], seed, test, valid, inits)
            r = results[key]
            print(f"{name:<34} seed {seed}: P@1 {r['p@1']:.4f} "
                  f"valid {r['valid_p@1']:.4f} P@5 {r['p@5']:.4f} "
                  f"ECE {r['ece']:.4f} ({r['train_seconds']:.0f} s)",
                  flush=True)
            results = dict(json_files.read_json(out) or {}, **results)
            json_files.write_json(out, results)
    print(f"\nmachine: {os.cpu_count()} cores; code version {version}; "
          f"teacher {args.teacher}: test P@1 {teacher_p1:.4f}")
    print("| student | test P@1 | valid P@1 | test P@5 | ECE | training (s) "
          "| seeds |")
    print("|---|---|---|---|---|---|---|")
    for name in chosen:
        found = [v for k, v in results.items() if k.startswith(
            f"{run_name}|{name}|") and k.endswith(f"|{version}")]
        if not found:
            continue
        row = runs.summarize(found, ("p@1", "valid_p@1", "p@5", "ece"),
                             ("train_seconds",))
        cells = " | ".join(f"{row[k][0]:.4f} ± {row[k][1]:.4f}"
                           for k in ("p@1", "valid_p@1", "p@5", "ece"))
        print(f"| {name} | {cells} | {row['train_seconds']:.0f} | "
              f"{row['seeds']} |")


if __name__ == "__main__":
    sys.exit(main())
