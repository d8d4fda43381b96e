"""Student word vectors from the teacher's encoder."""

import numpy as np
import pytest

from tests.conftest import encoder_folder
from topk_distill.models import student_init, text_models

TEXTS = ["a river in europe", "a small bird", "a large river",
         "the bird sings"]


def test_vocabulary_counts_words():
    words, counts = student_init.vocabulary(TEXTS)
    assert words[:2] == ["", "[UNK]"]
    assert counts[words.index("a")] == 3
    assert counts[words.index("sings")] == 1


def test_make_init_from_the_encoder_matches_words_alone(tmp_path):
    words, vectors = student_init.make_init(encoder_folder(), TEXTS, dim=4,
                                            method="words", verbose=0)
    assert vectors.shape == (len(words), 4)
    np.testing.assert_array_equal(vectors[0], 0.0)
    assert np.isfinite(vectors).all()
    # At the encoder's full width PCA only centres and rotates: distances
    # between words are those of each word alone through the encoder.
    alone = student_init.encode_words(encoder_folder(), words[2:], verbose=0)
    _, full = student_init.make_init(encoder_folder(), TEXTS,
                                     dim=alone.shape[1], method="words",
                                     verbose=0)

    def distances(x):
        return np.linalg.norm(x[:, None] - x[None], axis=-1)

    ratio = distances(full[2:]) / np.maximum(distances(alone), 1e-9)
    off_diagonal = ~np.eye(len(alone), dtype=bool)
    np.testing.assert_allclose(ratio[off_diagonal],
                               np.median(ratio[off_diagonal]), rtol=1e-3)
    path = str(tmp_path / "init.npz")
    student_init.save(path, words, vectors, encoder="minilm")
    loaded_words, loaded = student_init.load(path)
    assert loaded_words == words
    # 8 bits per value, scaled per row: within half a step of 1/127 of the
    # row's largest value.
    step = np.abs(vectors).max(axis=1, keepdims=True) / 127
    assert (np.abs(loaded - vectors) <= step / 2 + 1e-7).all()
    # The student starts from them, its vocabulary the file's.
    student = text_models.make_student(None, 3, embeddings=(words, loaded))
    table = student.get_layer("embedding").embeddings.numpy()
    np.testing.assert_allclose(table, loaded)
    assert student.layers[1].get_vocabulary() == words


def test_load_refuses_other_files(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, something=np.zeros(3))
    with pytest.raises(ValueError, match="other.npz: not a student-init"):
        student_init.load(str(path))
    np.savez(path, vocabulary=np.array(["", "[UNK]", "a"]),
             vectors=np.zeros((2, 4), np.int8), scales=np.ones(2))
    with pytest.raises(ValueError, match="do not match a vocabulary of 3"):
        student_init.load(str(path))


def test_context_vectors_average_each_words_uses():
    import keras_hub

    texts = ["a small bird", "The bird sings!"]
    words, _ = student_init.vocabulary(texts)
    vectors, uses = student_init.context_vectors(encoder_folder(), texts,
                                                 words, verbose=0)
    assert uses[words.index("bird")] == 2 and uses[words.index("sings")] == 1
    # Independently: each text through keras-hub's own preprocessing.
    preprocess = keras_hub.models.BertTextClassifierPreprocessor(
        keras_hub.models.BertTokenizer.from_preset(encoder_folder()),
        sequence_length=8)
    backbone = keras_hub.models.BertBackbone.from_preset(encoder_folder())
    out = backbone(preprocess(texts))["sequence_output"].numpy()
    # [CLS] a small bird [SEP]; the student drops "!", so the second use is
    # in [CLS] the bird sings [SEP].
    np.testing.assert_allclose(vectors[words.index("small")], out[0, 2],
                               atol=1e-4)
    no_bang = backbone(preprocess(["the bird sings"]))["sequence_output"]
    np.testing.assert_allclose(vectors[words.index("bird")],
                               (out[0, 3] + no_bang.numpy()[0, 2]) / 2,
                               atol=1e-4)
