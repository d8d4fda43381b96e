"""Training batches mixing labeled top-K and unlabeled top-H records."""

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import dense_softmax, write_record_set
from topk_distill.distillation import mixer
from topk_distill.distillation.loss_config import LossConfig

LABELED = [f"labeled {i}" for i in range(6)]
UNLABELED = {"unlabeled a": ([0], [0.9]), "unlabeled b": ([3], [0.8])}


@pytest.fixture
def record_sets(tmp_path):
    labeled = write_record_set(
        str(tmp_path / "lab"), LABELED, [i % 3 for i in range(6)],
        [[i % 5, (i + 1) % 5] for i in range(6)], [[2.0, 0.0]] * 6, 5,
        num_shards=2, tail_mass=[0.25] * 6, tail_temperature=2.0)
    unlabeled = write_record_set(
        str(tmp_path / "unl"), list(UNLABELED), [-1, -1],
        [v[0] for v in UNLABELED.values()], [v[1] for v in UNLABELED.values()],
        5, scores_kind="probabilities")
    return labeled, unlabeled


def test_batches_interleave_the_kinds_in_log_space(record_sets):
    ds = mixer.make_distillation_dataset(*record_sets, batch_size=4,
                                         unlabeled_per_labeled=1.0,
                                         shuffle=False)
    batches = list(ds)
    assert len(batches) == ds.cardinality() == 3  # 6 labeled, 2 a batch
    for batch in batches:
        labels = batch["label"].numpy()
        # Kinds alternate, so each half of a batch (a replica's share under
        # tf.distribute) holds both.
        assert (labels[0::2] >= 0).all() and (labels[1::2] == -1).all()
        ids, logits = batch["topk_ids"].numpy(), batch["topk_logits"].numpy()
        for row in (1, 3):  # Unlabeled: H=1 padded to K=2.
            text = batch["text"].numpy()[row].decode()
            want_ids, want_p = UNLABELED[text]
            assert ids[row].tolist() == want_ids + [-1]
            np.testing.assert_allclose(logits[row], [np.log(want_p[0]), 0],
                                       rtol=1e-6)
        np.testing.assert_array_equal(logits[0::2], [[2.0, 0.0]] * 2)
        # Tail columns: the labeled set's; 0 on unlabeled rows.
        np.testing.assert_array_equal(batch["tail_mass"], [0.25, 0] * 2)
        assert "tail_temperature" not in batch  # checked on the metadata
    assert [t.decode() for b in batches for t in b["text"].numpy()[0::2]] \
        == LABELED


def test_one_kind_only(record_sets):
    labeled, unlabeled = record_sets
    only_labeled = mixer.make_distillation_dataset(labeled, unlabeled,
                                                   batch_size=4,
                                                   unlabeled_per_labeled=0)
    assert [len(b["label"]) for b in only_labeled] == [4, 2]
    only_unlabeled = mixer.make_distillation_dataset(None, unlabeled, batch_size=4)
    batch, = list(only_unlabeled)
    assert sorted(batch["label"].numpy()) == [-1, -1]
    assert "tail_mass" not in batch
    with pytest.raises(ValueError, match="expected a labeled or an "
                       "unlabeled record set"):
        mixer.make_distillation_dataset()


def test_interleaving_spreads_the_smaller_kind():
    kinds = tf.gather(["L"] * 6 + ["U"] * 2, mixer.interleaving(6, 2))
    assert b"".join(kinds.numpy()) == b"LLULLLUL"
    kinds = tf.gather(["L"] * 2 + ["U"] * 3, mixer.interleaving(2, 3))
    assert b"".join(kinds.numpy()) == b"ULULU"


def test_tf_data_service_serves_each_record_once_an_epoch(record_sets):
    service = tf.data.experimental.service
    dispatcher = service.DispatchServer()
    workers = [service.WorkerServer(service.WorkerConfig(
        dispatcher.target.split("://")[1])) for _ in range(2)]

    def texts(data_service):
        """(labeled texts, unlabeled texts) of one epoch."""
        ds = mixer.make_distillation_dataset(*record_sets, batch_size=4,
                                             shuffle=False,
                                             data_service=data_service)
        pairs = [(t.decode(), y) for b in ds for t, y in zip(
            b["text"].numpy(), b["label"].numpy())]
        return (sorted(t for t, y in pairs if y >= 0),
                {t for t, y in pairs if y < 0})

    # Each labeled record once per epoch, split among the service's workers
    # (each batches its share, so there may be more, smaller batches).
    served, local = texts(dispatcher.target), texts(None)
    assert served[0] == local[0] == sorted(LABELED)
    assert served[1] == local[1] == set(UNLABELED)
    del workers


def test_sampled_targets_reach_the_loss_as_they_were_stored(tmp_path):
    q_labeled = [[0.5, 0.25, 0.25], [0.75, 0.25, 0.0]]
    labeled = write_record_set(
        str(tmp_path / "lab"), ["a", "b"], [0, 1], [[0, 1, 2], [3, 4, -1]],
        q_labeled, 5, scores_kind="probabilities", targets="sampled",
        samples=4, sampling_temperature=2.0, seed=0)
    unlabeled = write_record_set(
        str(tmp_path / "unl"), ["c", "d"], [-1, -1], [[1, 2], [0, -1]],
        [[0.5, 0.5], [1.0, 0.0]], 5, scores_kind="probabilities",
        targets="sampled", samples=2, sampling_temperature=3.0, seed=0)
    batch = next(iter(mixer.make_distillation_dataset(
        labeled, unlabeled, batch_size=4, shuffle=False)))
    labeled_rows = batch["label"].numpy() >= 0
    ids = batch["topk_ids"].numpy()
    logits = batch["topk_logits"]
    # Labeled: T log q, so the soft term's softmax(./T) at the records' T
    # gives q back, with no second softmax at another temperature.
    soft = dense_softmax(ids[labeled_rows], logits.numpy()[labeled_rows], 5,
                         temperature=2.0)
    np.testing.assert_allclose(soft, [[0.5, 0.25, 0.25, 0, 0],
                                      [0, 0, 0, 0.75, 0.25]], atol=1e-6)
    # Unlabeled: log q, used at T=1 by the pseudo term whatever T drew them.
    pseudo = dense_softmax(ids[~labeled_rows], logits.numpy()[~labeled_rows],
                           5)
    np.testing.assert_allclose(pseudo, [[0, 0.5, 0.5, 0, 0],
                                        [1, 0, 0, 0, 0]], atol=1e-6)


def test_sets_are_checked_against_the_loss_they_are_for(record_sets):
    bucket = LossConfig(tail="bucket", temperature=2.0)
    assert mixer.make_distillation_dataset(*record_sets, batch_size=4,
                                           loss=bucket) is not None
    with pytest.raises(ValueError, match=r"lab-\*: tail masses taken at "
                       r"tail_temperature=2.0, but --temperature=3.0"):
        mixer.make_distillation_dataset(
            *record_sets, batch_size=4,
            loss=LossConfig(tail="bucket", temperature=3.0))


def test_min_confidence_keeps_the_confident_pseudo_labels(record_sets):
    labeled, unlabeled = record_sets
    # "unlabeled a": the teacher's top class at 0.9, "unlabeled b" at 0.8.
    ds = mixer.make_distillation_dataset(labeled, unlabeled, batch_size=4,
                                         shuffle=False, min_confidence=0.85)
    batches = list(ds)
    assert len(batches) == 3  # the labeled set still makes the epoch
    seen = {t.decode() for b in batches for t, y in zip(
        b["text"].numpy(), b["label"].numpy()) if y < 0}
    assert seen == {"unlabeled a"}
    only = mixer.make_distillation_dataset(None, unlabeled, batch_size=4,
                                           min_confidence=0.7)
    assert sorted(t.decode() for b in only for t in b["text"].numpy()) == [
        "unlabeled a", "unlabeled b"]
    with pytest.raises(ValueError, match=r"min_confidence=0.95 keeps none "
                       r"of .*unl-\*'s 2 examples \(the teacher's most "
                       r"confident: 0.900\)"):
        mixer.make_distillation_dataset(labeled, unlabeled, batch_size=4,
                                        min_confidence=0.95)


def test_confidence_of_stored_logits_is_their_softmax_over_the_stored():
    from topk_distill.records.records import RecordSet

    spec = RecordSet(kind="unlabeled", num_classes=9, width=3,
                     scores="logits")
    ids = tf.constant([[0, 4, -1]])
    logits = tf.constant([[2.0, 0.0, 50.0]])  # the padding's 50 ignored
    found = mixer.confidence(spec, ids, logits).numpy()
    np.testing.assert_allclose(found, [np.e ** 2 / (np.e ** 2 + 1)],
                               rtol=1e-6)
