"""record_plan: a record set's settings checked, with no teacher."""

import pytest

from tests.conftest import NAMES
from topk_distill.records import record_plan


def test_a_plan_needs_only_the_labels_and_settings(labels_txt):
    plan = record_plan.plan(labels_txt, "in.tsv", {"kind": "external"},
                            record_plan.RecordSettings(
                                unlabeled=True, top_k=1, score_dtype="q8",
                                num_shards=3))
    assert (plan.kind, plan.num_classes, plan.width, plan.scores,
            plan.score_dtype, plan.num_shards) == (
                "unlabeled", len(NAMES), 1, "probabilities", "q8", 3)
    assert plan.labels == tuple(NAMES)
    assert plan.teacher == {"kind": "external"} and plan.input == "in.tsv"
    assert record_plan.class_ids(plan) is None


@pytest.mark.parametrize("settings, message", [
    (dict(top_k=4), "top_k=4; expected 1..N=3"),
    (dict(unlabeled=True, top_k=4), "top_h=4; expected 1..N=3"),
    (dict(targets="sampled", samples=2, scores="logits"),
     "sampled targets are stored as probabilities"),
    (dict(top_k=0, score_dtype="q8"), "q8' packs 1..")])
def test_settings_that_cannot_make_a_record_set(labels_txt, settings,
                                                message):
    with pytest.raises(ValueError, match=message):
        record_plan.plan(labels_txt, "in.tsv", {},
                         record_plan.RecordSettings(**settings))


def test_settings_come_one_way():
    given = record_plan.RecordSettings(top_k=3)
    assert record_plan.settings_of(given, {}) is given
    assert record_plan.settings_of(None, {"top_k": 3},
                                   num_shards=1).num_shards == 1
    with pytest.raises(TypeError, match="RecordSettings given and top_k: "
                       "give them one way"):
        record_plan.settings_of(given, {"top_k": 4})
    with pytest.raises(TypeError, match="top_q"):
        record_plan.settings_of(None, {"top_q": 4})
