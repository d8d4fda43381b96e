"""The text students (mean, bigram, CNN; normalised, hidden layer) and
the reference teacher."""

import numpy as np
import pytest
import tensorflow as tf

from topk_distill.models import text_models


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
