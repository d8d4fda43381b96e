"""A preprocessing run's options: one object, or its fields as keywords;
the runs that cannot honour one refuse it by name."""

import numpy as np
import pytest

from tests.conftest import NAMES, ROWS
from topk_distill.inputs import labels_file
from topk_distill.preprocessing import record_writer
from topk_distill.preprocessing.run_options import PreprocessOptions
from topk_distill.utils.configs import config_from


def test_options_come_one_way():
    keywords = {"overwrite": True, "top_k": 5}
    assert config_from(PreprocessOptions, None, keywords) == (
        PreprocessOptions(overwrite=True))
    assert keywords == {"top_k": 5}  # the record settings stay for theirs
    assert config_from(PreprocessOptions, None, {},
                       batch_size=64).batch_size == 64
    with pytest.raises(TypeError, match="PreprocessOptions given and "
                       "resume"):
        config_from(PreprocessOptions, PreprocessOptions(), {"resume": True})
    with pytest.raises(ValueError, match="batch_size=2.5; expected a "
                       "positive integer"):
        PreprocessOptions(batch_size=2.5)


def test_a_top_k_file_refuses_resume_and_leaves_nothing(tmp_path):
    labels = str(tmp_path / "labels.txt")
    labels_file.write_labels(labels, NAMES)
    tsv = tmp_path / "in.tsv"
    tsv.write_text("".join(f"{t}\t{NAMES[y]}\n" for t, y in ROWS))
    npz = str(tmp_path / "top.npz")
    np.savez(npz, ids=np.zeros((len(ROWS), 2), np.int64) + [0, 1],
             scores=np.ones((len(ROWS), 2), np.float32))
    for bad in ({"resume": True}, {"skip_unknown_labels": True}):
        with pytest.raises(ValueError, match="top.npz: a top-K file is "
                           "written whole"):
            record_writer.preprocess_sparse(npz, str(tsv), labels,
                                            str(tmp_path / "out"), **bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "in.tsv", "labels.txt", "top.npz"]
    written = record_writer.preprocess_sparse(
        npz, str(tsv), labels, str(tmp_path / "out"), verbose=0)
    assert written.num_examples == len(ROWS)
