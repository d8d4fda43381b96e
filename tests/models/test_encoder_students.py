"""The encoder student: the teacher's own layers, its tokenizer and head."""

import numpy as np
import pytest

from tests.conftest import NAMES, encoder_folder

pytest.importorskip("keras_hub")

TEXTS = ["a small brown dog", "the cat sat on the mat today", "rain"]


@pytest.fixture(scope="module")
def teacher_folder(tmp_path_factory):
    """A teacher (all-MiniLM-L6-v2 with a random linear head for NAMES)
    saved as `teacher --fine_tune` saves it: its encoder with its head
    beside it. Returns `(teacher, folder)`."""
    import keras

    from topk_distill.models import encoder_models

    keras.utils.set_random_seed(0)
    teacher = encoder_models.make_encoder_teacher(encoder_folder(),
                                                  len(NAMES), 32)
    head = teacher.get_layer("head")
    head.kernel.assign(np.random.default_rng(0).normal(
        size=head.kernel.shape) * 3)
    folder = str(tmp_path_factory.mktemp("teacher") / "encoder")
    encoder_models.save_encoder(teacher, encoder_folder(), folder, NAMES)
    return teacher, folder


def test_a_student_of_every_layer_is_its_teacher(teacher_folder):
    """Kept whole, the student computes what the teacher does: the same
    tokenizer, embeddings, layers, pooling and head."""
    import tensorflow as tf

    from topk_distill.models import encoder_students

    teacher, folder = teacher_folder
    student = encoder_students.make_encoder_student(
        folder, len(NAMES), layers=6, sequence_length=32, labels=NAMES)
    np.testing.assert_allclose(student(tf.constant(TEXTS)).numpy(),
                               teacher(tf.constant(TEXTS)).numpy(),
                               rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("choice,taken", [("spread", [0, 3]),
                                          ("first", [0, 1])])
def test_the_student_keeps_the_chosen_layers(teacher_folder, choice, taken):
    import keras_hub

    from topk_distill.models import encoder_students

    _, folder = teacher_folder
    source = keras_hub.models.BertBackbone.from_preset(folder)
    student = encoder_students.make_encoder_student(
        folder, len(NAMES), layers=2, choice=choice)
    encoder = student.get_layer("encoder")
    assert encoder.num_layers == 2
    for mine, theirs in zip(encoder.transformer_layers, taken):
        for a, b in zip(mine.get_weights(),
                        source.transformer_layers[theirs].get_weights()):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        encoder.get_layer("token_embedding").get_weights()[0],
        source.get_layer("token_embedding").get_weights()[0])
    np.testing.assert_array_equal(
        student.get_layer("head").kernel.numpy(),
        np.load(f"{folder}/{encoder_students.HEAD_FILE}")["kernel"])


def test_a_head_for_other_classes_is_refused_or_left_out(teacher_folder):
    from topk_distill.models import encoder_students

    _, folder = teacher_folder
    with pytest.raises(ValueError, match="classifier_head.npz: the "
                       "teacher's head is for other classes"):
        encoder_students.make_encoder_student(folder, len(NAMES) + 1,
                                              layers=1)
    with pytest.raises(ValueError, match="for other classes"):
        encoder_students.make_encoder_student(
            folder, len(NAMES), layers=1, labels=NAMES[::-1])
    student = encoder_students.make_encoder_student(
        folder, len(NAMES) + 1, layers=1, teacher_head=False)
    assert student.get_layer("head").kernel.shape == (384, len(NAMES) + 1)
    with pytest.raises(ValueError, match="student layers=7; the encoder "
                       "has 6 transformer layers"):
        encoder_students.make_encoder_student(folder, len(NAMES), layers=7)


def test_the_token_id_model_answers_as_the_student(teacher_folder):
    import tensorflow as tf

    from topk_distill.models import encoder_students

    _, folder = teacher_folder
    student = encoder_students.make_encoder_student(folder, len(NAMES),
                                                    layers=1)
    ids_model, vocabulary = encoder_students.token_id_model(student)
    assert vocabulary[101:103] == ["[CLS]", "[SEP]"]
    tokens = student.get_layer("bert_inputs")(tf.constant(TEXTS))
    np.testing.assert_allclose(ids_model(tokens["token_ids"]).numpy(),
                               student(tf.constant(TEXTS)).numpy(),
                               rtol=1e-5, atol=1e-5)


def test_fine_tuning_warms_up_then_decays_to_zero():
    from topk_distill.models import encoder_students

    optimizer = encoder_students.fine_tuning_optimizer(1e-3, steps=20)
    rates = []
    for step in (0, 1, 2, 11, 20):
        optimizer.iterations.assign(step)
        rates.append(float(optimizer.learning_rate))
    assert rates[0] == 0 and rates[1] == pytest.approx(5e-4)
    assert rates[2] == pytest.approx(1e-3)
    assert 0 < rates[3] < 1e-3 and rates[4] == pytest.approx(0, abs=1e-9)


def test_a_student_without_a_teacher_head_fits_its_head_first(tmp_path):
    """From an encoder with no head beside it, `train`'s network starts
    with a head fitted on the frozen student's embeddings of the records'
    texts: it already sorts the training texts before any fine-tuning."""
    import tensorflow as tf

    from tests.commands.test_train import _text_sets
    from tests.conftest import TEXTS
    from topk_distill.distillation import networks, training_config
    from topk_distill.records import records

    labeled, _ = _text_sets(tmp_path)
    config = training_config.StudentConfig(
        architecture="encoder", encoder=encoder_folder(), student_layers=1)
    network = networks.make_network(config, [records.resolve(labeled)],
                                    NAMES)
    texts = [t for name in NAMES for t in TEXTS[name]]
    predicted = network(tf.constant(texts)).numpy().argmax(1)
    assert (predicted == [i // 4 for i in range(12)]).mean() >= 0.9
