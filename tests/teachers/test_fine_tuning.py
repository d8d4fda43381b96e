"""fine_tuning: an encoder teacher fine-tuned, cross-fitted and scored in
batches of texts of similar length."""

import numpy as np
import pytest

from tests.conftest import encoder_folder
from topk_distill.teachers import fine_tuning


def test_fine_tune_trains_the_top_layers_and_decays_to_zero(all_texts):
    from topk_distill.models import encoder_models

    labels = np.repeat([0, 1, 2], 4)
    teacher = encoder_models.make_encoder_teacher(
        encoder_folder(), 3, sequence_length=16, hidden_units=8)
    encoder, = (layer for layer in teacher.layers
                if hasattr(layer, "transformer_layers"))
    before = {w.path: w.numpy() for w in encoder.weights + teacher.get_layer(
        "head").weights}
    history = fine_tuning.fine_tune(
        teacher, all_texts, labels, layers=1, epochs=3, batch_size=4,
        learning_rate=1e-3, verbose=0)
    changed = {w.path for w in encoder.weights + teacher.get_layer(
        "head").weights if not np.array_equal(w.numpy(), before[w.path])}
    top = {w.path for w in encoder.transformer_layers[-1].weights}
    head = {w.path for w in teacher.get_layer("head").weights}
    assert changed == top | head  # the top layer and the head, nothing else
    losses = history.history["loss"]
    assert losses[-1] < losses[0]
    # 3 epochs of 3 batches: warmup over int(0.9) = 0 steps, then the
    # cosine reaches 0 at the last step, not before nor after.
    assert int(teacher.optimizer.iterations) == 9
    assert float(teacher.optimizer.learning_rate) < 1e-9
    with pytest.raises(ValueError, match="layers=7; the encoder has 6"):
        encoder_models.set_encoder_trainable(teacher, 7)


def test_length_batches_cover_every_row_once_and_group_by_length():
    texts = np.array(["w" * n for n in range(1, 101)], object)
    batches = fine_tuning.length_batches(texts, np.arange(100),
                                         batch_size=10, window=5)
    epochs = []
    for _ in range(2):
        assert len(batches) == 10
        seen = [batches[i][1] for i in range(len(batches))]
        rows = np.sort(np.concatenate(seen))
        np.testing.assert_array_equal(rows, np.arange(100))
        # windows of 5 batches (50 texts) are sorted: a batch spans little
        spans = [np.ptp([len(t) for t in batches[i][0].numpy()])
                 for i in range(len(batches))]
        assert max(spans) < 50
        epochs.append([tuple(s) for s in seen])
        batches.on_epoch_end()
    assert epochs[0] != epochs[1]  # reshuffled each epoch


def test_predict_by_length_keeps_the_input_order():
    import keras
    import tensorflow as tf

    text = keras.Input(shape=(), dtype="string")
    length = keras.layers.Lambda(lambda t: tf.cast(tf.strings.length(t),
                                                   "float32")[:, None],
                                 output_shape=(1,))(text)
    model = keras.Model(text, length)
    texts = ["ccc", "a", "bbbbb", "dd"]
    out = fine_tuning.predict_by_length(model, texts, batch_size=2,
                                        verbose=0)
    assert out[:, 0].tolist() == [3, 1, 5, 2]


def test_each_fine_tuned_fold_trains_on_the_other_folds(monkeypatch):
    from topk_distill.teachers import cross_fitting

    trained = []

    class Teacher:
        output = type("Output", (), {"shape": (None, 3)})

        def get_layer(self, name):
            return type("Head", (), {"set_weights": lambda self, w: None})()

    def fake_fine_tune(teacher, texts, labels, **settings):
        trained.append(set(texts))

    monkeypatch.setattr(fine_tuning, "fine_tune", fake_fine_tune)
    monkeypatch.setattr(fine_tuning, "predict_by_length",
                        lambda model, texts, verbose=0: np.array(
                            [[float(t[1:]), 0, 0] for t in texts]))
    texts = np.array([f"t{i}" for i in range(10)], object)
    logits = fine_tuning.cross_fit_fine_tuned(
        Teacher, texts, np.arange(10) % 3,
        np.eye(10, dtype="float32"), 2, dict(epochs=1), dict(epochs=1))
    fold = cross_fitting.fold_of_rows(10, 2)
    for k in range(2):  # fold k's teacher saw every text but fold k's
        assert trained[k] == set(texts[fold != k])
    np.testing.assert_array_equal(logits[:, 0], np.arange(10))
    # the same folds as the frozen encoder's cross-fitted heads
    head_fold, _ = cross_fitting.cross_fit_heads(np.eye(10, dtype="float32"),
                                                 np.arange(10) % 3, 3, folds=2,
                                                 epochs=1)
    np.testing.assert_array_equal(fold, head_fold)
