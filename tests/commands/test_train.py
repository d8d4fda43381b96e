"""`topk-distill train`: flags in, a student out."""

import json

from tests.conftest import NAMES, run_command, write_record_set


def _sets(tmp_path):
    texts = [f"text {i}" for i in range(6)]
    labeled = write_record_set(str(tmp_path / "lab"), texts,
                               [i % 3 for i in range(6)],
                               [[i % 3, (i + 1) % 3] for i in range(6)],
                               [[2.0, 0.0]] * 6, 3, names=NAMES)
    unlabeled = write_record_set(str(tmp_path / "unl"), texts[:2], [-1, -1],
                                 [[0], [1]], [[0.9], [0.8]], 3,
                                 scores_kind="probabilities", names=NAMES)
    return labeled, unlabeled


def test_train_from_records_alone(tmp_path, capsys):
    labeled, unlabeled = _sets(tmp_path)
    out = tmp_path / "student"
    assert run_command(["topk-distill", "train", f"--labeled={labeled}",
                        f"--unlabeled={unlabeled}", f"--output={out}",
                        "--epochs=2", "--batch_size=4", "--alpha=0.8",
                        "--beta=0.4", "--temperature=3"]) == 0
    assert f"saved {out}/student.keras" in capsys.readouterr().out
    saved = json.loads((out / "history.json").read_text())
    assert saved["flags"] == {"alpha": 0.8, "batch_size": 4, "beta": 0.4,
                              "epochs": 2, "labeled": labeled,
                              "output": str(out), "temperature": 3.0,
                              "unlabeled": unlabeled}
    assert (out / "labels.txt").read_text().split() == NAMES


def test_bad_flags_and_settings(tmp_path, capsys):
    labeled, _ = _sets(tmp_path)
    assert run_command(["topk-distill", "train",
                        f"--output={tmp_path}/o"]) == 1
    assert "--labeled or --unlabeled is required" in capsys.readouterr().err
    assert run_command(["topk-distill", "train", f"--labeled={labeled}",
                        f"--output={tmp_path}/o",
                        "--target_accuracy=0.5"]) == 1
    assert "--target_accuracy needs --validation" in capsys.readouterr().err
    assert run_command(["topk-distill", "train", f"--labeled={labeled}",
                        f"--output={tmp_path}/o", "--alpha=0.3"]) == 1
    assert capsys.readouterr().err.strip() == (
        # no "pass strict=False": train has no such flag (issue 25)
        "topk-distill train: error: alpha=0.3; expected 0.5 < alpha < 1")
    other = tmp_path / "other.txt"
    other.write_text("x\ny\nz\n")
    assert run_command(["topk-distill", "train", f"--labeled={labeled}",
                        f"--labels={other}", f"--output={tmp_path}/o"]) == 1
    assert "another labels file" in capsys.readouterr().err


def test_auto_choice_prints_its_table_and_refuses_what_it_cannot_do(
        tmp_path, capsys):
    labeled, unlabeled = _sets(tmp_path)
    valid = tmp_path / "valid.tsv"
    valid.write_text("".join(f"text {i}\t{NAMES[i % 3]}\n" for i in range(6)))
    out = tmp_path / "auto"
    assert run_command(["topk-distill", "train", f"--labeled={labeled}",
                        f"--unlabeled={unlabeled}", f"--validation={valid}",
                        f"--output={out}", "--student=auto", "--epochs=1",
                        "--batch_size=4"]) == 0
    printed = capsys.readouterr().out
    # a progress line per candidate and training, then the table
    assert printed.count("val_top1") == 4
    assert "candidate  labels only  distilled" in printed
    chosen = json.loads((out / "choice.json").read_text())["chosen"]
    assert f"({chosen['candidate']}, {chosen['training']})" in printed
    for extra, message in (
            (["--student=auto", "--baseline=hard"], "drop --baseline"),
            (["--max_latency_ms=2"], "it needs --student=auto")):
        assert run_command(["topk-distill", "train", f"--labeled={labeled}",
                            f"--validation={valid}",
                            f"--output={tmp_path}/o"] + extra) == 1
        assert message in capsys.readouterr().err


def test_student_choice_and_teacher_initialised_vectors(tmp_path, capsys):
    import keras
    import numpy as np

    from topk_distill.models import student_init, text_models
    from topk_distill.commands import train

    choices = tuple(train.FLAGS["student"].parser.enum_values)
    assert choices == text_models.STUDENTS + ("auto",)
    labeled, _ = _sets(tmp_path)
    words = ["", "[UNK]", "text", "0", "1", "2"]
    vectors = np.arange(len(words) * 4, dtype=np.float32).reshape(-1, 4) / 9
    init = str(tmp_path / "init.npz")
    student_init.save(init, words, vectors)
    out = tmp_path / "student"
    assert run_command(["topk-distill", "train", f"--labeled={labeled}",
                        f"--output={out}", "--epochs=1", "--batch_size=4",
                        "--student=bigram", f"--init_embeddings={init}",
                        "--freeze_embeddings", "--normalize",
                        "--hidden_units=3"]) == 0
    model = keras.models.load_model(str(out / "student.keras"))
    assert model.layers[1].get_vocabulary() == words
    # Frozen: the teacher's vectors as they were (8 bits in the file).
    np.testing.assert_allclose(model.get_layer("embedding").embeddings,
                               vectors, atol=vectors.max() / 127)
    assert not model.get_layer("embedding").trainable
    assert model.get_layer("normalize") is not None
    assert model.get_layer("bigram_embedding") is not None
    assert model.get_layer("hidden").units == 3
    bad = tmp_path / "bad.npz"
    np.savez(bad, vectors=vectors)
    assert run_command(["topk-distill", "train", f"--labeled={labeled}",
                        f"--output={tmp_path}/o",
                        f"--init_embeddings={bad}"]) == 1
    assert "bad.npz: not a student-init file" in capsys.readouterr().err


def test_a_backup_of_other_model_flags_is_refused(tmp_path, capsys,
                                                  monkeypatch):
    from topk_distill.distillation import backup

    labeled, _ = _sets(tmp_path)
    out = tmp_path / "student"
    argv = ["topk-distill", "train", f"--labeled={labeled}",
            f"--output={out}", "--epochs=3", "--batch_size=4"]
    save = backup.TrainingBackup._save_model

    def killed_after_the_first_save(self):
        save(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(backup.TrainingBackup, "_save_model",
                        killed_after_the_first_save)
    assert run_command(argv + ["--embedding_dim=8"]) == 130
    monkeypatch.setattr(backup.TrainingBackup, "_save_model", save)
    capsys.readouterr()
    assert run_command(argv + ["--embedding_dim=4"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"topk-distill train: error: {out}/backup: the backup of another "
        "run (embedding_dim=8, now 4); remove "
        f"{out}/backup to start afresh (its epochs are lost), or rerun with "
        "the flags that made it"], err
    # the same model on other records, or at another rate: another run too
    other = write_record_set(str(tmp_path / "other"), ["text 9"] * 3,
                             [0, 1, 2], [[0], [1], [2]], [[1.0]] * 3, 3,
                             names=NAMES)
    for changed, named in (([f"--labeled={other}"], "records="),
                           (["--learning_rate=0.1"], "fit=")):
        argv_changed = [a for a in argv if not a.startswith(
            changed[0].split("=")[0] + "=")] + changed
        assert run_command(argv_changed + ["--embedding_dim=8"]) == 1
        err = capsys.readouterr().err
        assert "the backup of another run (" in err and named in err, err
    # while a run holds the folder, a second one is refused at once
    import fcntl

    with open(out / ".lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert run_command(argv + ["--embedding_dim=8"]) == 1
    assert f"--output={out}: another run is writing there" in (
        capsys.readouterr().err)
    assert run_command(argv + ["--embedding_dim=8"]) == 0
    assert not (out / ".lock").exists()


def _text_sets(tmp_path, multi_label=False):
    """Records of conftest's TEXTS (12 texts, 3 classes): each text's
    label (multi-label: its class and, for the first of each, the next
    one), a teacher sure of it; two unlabeled texts."""
    from tests.conftest import TEXTS

    texts = [t for name in NAMES for t in TEXTS[name]]
    labels = [i // 4 for i in range(12)]
    if multi_label:
        labels = [[c, (c + 1) % 3] if i % 4 == 0 else [c]
                  for i, c in enumerate(labels)]
    first = [c[0] if multi_label else c for c in labels]
    labeled = write_record_set(
        str(tmp_path / "lab"), texts, labels,
        [[c, (c + 1) % 3] for c in first], [[4.0, 0.0]] * 12, 3,
        names=NAMES)
    unlabeled = write_record_set(
        str(tmp_path / "unl"), ["a small cat", "cheap bonds"],
        [[], []] if multi_label else [-1, -1], [[0], [1]], [[0.9], [0.8]],
        3, scores_kind="probabilities", names=NAMES)
    return labeled, unlabeled


def test_encoder_student_trains_exports_and_converts(tmp_path, capsys):
    """The encoder student from all-MiniLM-L6-v2's first layer: it learns
    the records, its SavedModel answers as its .keras file does, and
    `export --tflite` writes its WordPiece-id TFLite file only, which
    answers the same."""
    import numpy as np
    import tensorflow as tf

    from tests.conftest import encoder_folder
    from topk_distill.models import saved_model
    from topk_distill.teachers import teacher

    labeled, unlabeled = _text_sets(tmp_path)
    out = tmp_path / "student"
    assert run_command([
        "topk-distill", "train", f"--labeled={labeled}",
        f"--unlabeled={unlabeled}", f"--output={out}", "--epochs=4",
        "--batch_size=6", "--learning_rate=1e-3", "--student=encoder",
        f"--encoder={encoder_folder()}", "--student_layers=1"]) == 0
    history = json.loads((out / "history.json").read_text())["history"]
    assert history["hard_loss"][-1] < 0.5 * history["hard_loss"][0]
    loaded = teacher.load_teacher(str(out / "student.keras"))
    assert loaded.model.get_layer("encoder").num_layers == 1
    texts = tf.constant(["a cat sat on the mat", "stocks fell"])
    want = tf.nn.softmax(loaded.model(texts)).numpy()
    served = saved_model.load_saved_model(str(out / "export"))
    answer = served.signatures["serving_default"](text=texts)
    np.testing.assert_allclose(answer["top_scores"].numpy()[:, 0],
                               want.max(1), atol=1e-5)
    assert list(answer["top_ids"].numpy()[:, 0]) == list(want.argmax(1))
    assert list(want.argmax(1)) == [NAMES.index("animal"),
                                    NAMES.index("finance")]
    lite = tmp_path / "lite"
    assert run_command(["topk-distill", "export",
                        f"--model={out}/student.keras", f"--output={lite}",
                        "--tflite", "--top_n=2"]) == 0
    assert sorted(p.name for p in lite.glob("*.tflite*")) == [
        "model_token_ids.tflite", "model_token_ids.tflite.vocab.txt"]
    runner = tf.lite.Interpreter(
        str(lite / "model_token_ids.tflite")).get_signature_runner()
    vocabulary = (lite / "model_token_ids.tflite.vocab.txt").read_text(
    ).split("\n")
    # "[CLS] stocks fell [SEP]", by hand from the vocabulary file
    ids = [vocabulary.index(w) for w in ("[CLS]", "stocks", "fell",
                                         "[SEP]")]
    got = runner(token_ids=np.array([ids], np.int32))
    np.testing.assert_allclose(got["top_scores"][0], np.sort(want[1])[::-1][
        :2], atol=1e-4)


def test_encoder_student_learns_multi_label_records(tmp_path):
    import numpy as np
    import tensorflow as tf

    from tests.conftest import encoder_folder
    from topk_distill.teachers import teacher

    labeled, unlabeled = _text_sets(tmp_path, multi_label=True)
    out = tmp_path / "student"
    assert run_command([
        "topk-distill", "train", f"--labeled={labeled}",
        f"--unlabeled={unlabeled}", f"--output={out}", "--epochs=6",
        "--batch_size=6", "--learning_rate=2e-3", "--student=encoder",
        f"--encoder={encoder_folder()}", "--student_layers=1"]) == 0
    history = json.loads((out / "history.json").read_text())
    assert history["threshold"] == 0.5  # no validation input
    assert history["history"]["hard_loss"][-1] < (
        0.7 * history["history"]["hard_loss"][0])
    loaded = teacher.load_teacher(str(out / "student.keras"))
    sure = tf.sigmoid(loaded.model(tf.constant(["the dog barked at night"])))
    # its one label, animal, above one half; finance, not its label, below
    assert sure[0, NAMES.index("animal")] > 0.5 > sure[
        0, NAMES.index("finance")]
    assert np.isfinite(sure.numpy()).all()


def test_encoder_student_flags_that_cannot_work(tmp_path, capsys):
    from tests.conftest import encoder_folder

    labeled, _ = _text_sets(tmp_path)
    base = ["topk-distill", "train", f"--labeled={labeled}",
            f"--output={tmp_path / 'x'}"]
    for flags, message in (
            (["--student=encoder"], "--student=encoder needs --encoder"),
            ([f"--encoder={encoder_folder()}"], "--encoder is the encoder "
             "student's checkpoint; --student=mean does not read it"),
            (["--student=encoder", f"--encoder={tmp_path}"],
             f"--encoder={tmp_path}: no config.json in it"),
            (["--student=encoder", f"--encoder={encoder_folder()}",
              "--embedding_dim=8"], "--embedding_dim is for the word-vector "
             "students"),
            (["--student=encoder", f"--encoder={encoder_folder()}",
              "--student_layers=9"], "student layers=9; the encoder has 6")):
        assert run_command(base + flags) == 1, flags
        assert message in capsys.readouterr().err, flags


def test_sampled_classes_train_a_student_that_answers_from_all_classes(
        tmp_path):
    import keras
    import numpy as np
    import tensorflow as tf

    from topk_distill.models import class_vectors

    labeled, unlabeled = _sets(tmp_path)
    out = tmp_path / "sampled"
    assert run_command(["topk-distill", "train", f"--labeled={labeled}",
                        f"--unlabeled={unlabeled}", f"--output={out}",
                        "--epochs=2", "--batch_size=4",
                        "--sampled_classes=2"]) == 0
    history = json.loads((out / "history.json").read_text())["history"]
    assert "top1" not in history and np.all(np.isfinite(history["loss"]))
    student = keras.saving.load_model(str(out / "student.keras"))
    assert isinstance(student.get_layer("logits"), class_vectors.ClassVectors)
    served = tf.saved_model.load(str(out / "export"))
    probabilities = served.signatures["probabilities"](
        text=tf.constant(["text 1"]))["probabilities"]
    assert probabilities.shape == (1, 3)
    np.testing.assert_allclose(probabilities.numpy().sum(), 1.0, rtol=1e-5)
    assert run_command(["topk-distill", "train", f"--labeled={labeled}",
                        f"--output={tmp_path}/o", "--sampled_classes=-1"]) == 2


def test_sampled_classes_drawn_by_label_frequency(tmp_path, monkeypatch):
    import numpy as np

    from topk_distill.distillation import student

    labeled, unlabeled = _sets(tmp_path)
    made = []
    real = student.DistillationStudent.__init__

    def spy(self, *args, **kwargs):
        made.append(kwargs.get("proposal"))
        real(self, *args, **kwargs)

    monkeypatch.setattr(student.DistillationStudent, "__init__", spy)
    assert run_command(["topk-distill", "train", f"--labeled={labeled}",
                        f"--unlabeled={unlabeled}", f"--output={tmp_path}/s",
                        "--epochs=1", "--batch_size=4", "--sampled_classes=2",
                        "--sampled_proposal=labels"]) == 0
    # The labeled set's labels: 2 of each of the 3 classes.
    np.testing.assert_allclose(np.exp(made[0].log_q.numpy()), [1 / 3] * 3,
                               rtol=1e-6)
    assert run_command(["topk-distill", "train", f"--labeled={labeled}",
                        f"--output={tmp_path}/o",
                        "--sampled_proposal=zipf"]) == 2
