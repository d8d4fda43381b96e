"""The reference teacher and student, and the encoder teacher's head."""

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import encoder_folder
from topk_distill.models import encoder_models, text_models
from topk_distill.teachers import cross_fitting


def test_student_averages_real_tokens_only():
    student = text_models.make_student(["a cat", "a dog"], num_classes=4,
                                       embedding_dim=3, sequence_length=8)
    logits = student(tf.constant(["cat", "cat cat cat", "", "dog"])).numpy()
    assert logits.shape == (4, 4)
    # Padding does not count: one "cat" and three average the same.
    np.testing.assert_allclose(logits[0], logits[1], rtol=1e-6)
    # An empty text averages nothing: the output layer's bias alone.
    bias = student.get_layer("logits").bias.numpy()
    np.testing.assert_allclose(logits[2], bias, atol=1e-7)
    assert not np.allclose(logits[0], logits[3])


def test_teacher_maps_texts_to_logits():
    teacher = text_models.make_teacher(["a cat", "a dog", "red apple"],
                                       num_classes=5, hidden_units=4)
    assert teacher(tf.constant(["a red cat"])).shape == (1, 5)


def test_cross_fit_logits_come_from_heads_that_did_not_see_the_row(rng):
    embeddings = rng.normal(size=(40, 6)).astype(np.float32)
    labels = rng.integers(0, 3, 40)
    logits = cross_fitting.cross_fit_logits(
        embeddings, labels, 3, folds=2, seed=7, epochs=2)
    assert logits.shape == (40, 3)
    # Relabel row 5: only heads that train on it change, so its own logits,
    # and those of the rows of its fold (half of them), stay as they were.
    relabeled = labels.copy()
    relabeled[5] = (labels[5] + 1) % 3
    again = cross_fitting.cross_fit_logits(embeddings, relabeled, 3, folds=2,
                                           seed=7, epochs=2)
    same = np.all(again == logits, axis=1)
    assert same[5] and same.sum() == 20
    everything = cross_fitting.train_head(embeddings, labels, 3, epochs=2,
                                          seed=7)
    assert not np.allclose(logits, everything(embeddings), atol=1e-3)


def test_encoder_teacher_embeds_with_unit_norm():
    import keras

    teacher = encoder_models.make_encoder_teacher(
        encoder_folder(), num_classes=2, sequence_length=16)
    embed = keras.Model(teacher.input, teacher.get_layer("embedding").output)
    vectors = embed(tf.constant(["a river in Europe", "a small bird"]))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0,
                               rtol=1e-5)
    # Only the head trains; the encoder stays frozen.
    assert sorted(w.path for w in teacher.trainable_weights) == [
        "head/bias", "head/kernel"]


@pytest.mark.parametrize("folds", [2, 3])
def test_every_row_gets_out_of_fold_logits(rng, folds):
    embeddings = rng.normal(size=(9, 4)).astype(np.float32)
    logits = cross_fitting.cross_fit_logits(
        embeddings, rng.integers(0, 2, 9), 2, folds=folds, epochs=1)
    assert np.all(np.any(logits != 0, axis=1))


def test_bigram_student_sees_word_order_the_mean_does_not():
    texts = ["cat dog", "dog cat"]
    mean = text_models.make_student(texts, 3, embedding_dim=4)
    bigram = text_models.make_student(texts, 3, embedding_dim=4,
                                      architecture="bigram", hash_buckets=50)
    for model, same in ((mean, True), (bigram, False)):
        a, b = model(tf.constant(texts)).numpy()
        assert np.allclose(a, b, atol=1e-6) == same
    # Padding makes no bigram: a text and itself padded answer the same,
    # and one word alone averages its own vector only.
    table = bigram.get_layer("embedding").embeddings.numpy()
    dense = bigram.get_layer("logits")
    cat = bigram.layers[1].get_vocabulary().index("cat")
    np.testing.assert_allclose(bigram(tf.constant(["cat"])).numpy()[0],
                               dense(table[cat:cat + 1]).numpy()[0],
                               rtol=1e-5)


def test_cnn_student_is_order_aware_and_ignores_padding():
    cnn = text_models.make_student(["a b c d"], 3, embedding_dim=4,
                                   architecture="cnn", filters=8,
                                   sequence_length=10)
    out = cnn(tf.constant(["a b c", "c b a", "a b c"])).numpy()
    assert out.shape == (3, 3)
    assert not np.allclose(out[0], out[1])
    short = text_models.make_student(["a b c d"], 3, embedding_dim=4,
                                     architecture="cnn", filters=8,
                                     sequence_length=4)
    short.set_weights(cnn.get_weights())
    np.testing.assert_allclose(short(tf.constant(["a b c"])).numpy()[0],
                               out[0], rtol=1e-5)


def test_unknown_student_architecture():
    with pytest.raises(ValueError, match="expected one of mean, bigram, cnn"):
        text_models.make_student(["a"], 2, architecture="lstm")


def test_normalized_student_scores_the_unit_text_vector():
    student = text_models.make_student(["a cat", "a dog"], 3, embedding_dim=4,
                                       normalize=True, train_embeddings=False)
    table = student.get_layer("embedding").embeddings.numpy()
    cat = student.layers[1].get_vocabulary().index("cat")
    unit = table[cat] / np.linalg.norm(table[cat])
    np.testing.assert_allclose(
        student(tf.constant(["cat"])).numpy()[0],
        student.get_layer("logits")(unit[None]).numpy()[0], rtol=1e-5)
    assert [w.path for w in student.trainable_weights] == [
        "logits/kernel", "logits/bias"]


def test_hidden_layer_sits_between_the_text_vector_and_the_logits():
    student = text_models.make_student(["a cat", "a dog"], 3, embedding_dim=4,
                                       normalize=True, train_embeddings=False,
                                       hidden_units=5)
    table = student.get_layer("embedding").embeddings.numpy()
    cat = student.layers[1].get_vocabulary().index("cat")
    unit = table[cat] / np.linalg.norm(table[cat])
    hidden = student.get_layer("hidden")
    np.testing.assert_allclose(
        student(tf.constant(["cat"])).numpy()[0],
        student.get_layer("logits")(hidden(unit[None])).numpy()[0],
        rtol=1e-5)
    assert student.get_layer("logits").kernel.shape == (5, 3)
    assert [w.path for w in student.trainable_weights] == [
        "hidden/kernel", "hidden/bias", "logits/kernel", "logits/bias"]
