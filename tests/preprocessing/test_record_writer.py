"""RecordSetWriter: top-K from a teacher that runs elsewhere."""

import glob
import os
import re

import numpy as np
import pytest

from topk_distill.inputs import labels_file
from topk_distill.inputs.label_space import MultiLabel
from topk_distill.preprocessing import preprocessing, record_writer
from topk_distill.records import reader, records
from topk_distill.teachers.teacher import load_teacher

N, K, COUNT = 30, 5, 50


def _data(tmp_path, rng):
    names = [f"class{i}" for i in range(N)]
    labels_path = str(tmp_path / "labels.txt")
    labels_file.write_labels(labels_path, names)
    texts = [f"text number {i}" for i in range(COUNT)]
    labels = rng.integers(0, N, COUNT)
    ids = np.stack([rng.permutation(N)[:K] for _ in range(COUNT)])
    scores = rng.uniform(-5, 10, (COUNT, K)).astype(np.float32)
    with open(tmp_path / "train.tsv", "w") as f:
        for text, label in zip(texts, labels):
            f.write(f"{text}\t{names[label]}\n")
    return names, labels_path, texts, labels, ids, scores


@pytest.mark.parametrize("score_dtype", ["float16", "float32", "q8"])
def test_shards_are_those_preprocess_writes(tmp_path, rng, score_dtype):
    names, labels_path, texts, labels, ids, scores = _data(tmp_path, rng)
    dense = np.full((COUNT, N), -50.0, np.float32)
    np.put_along_axis(dense, ids, scores, axis=1)
    np.save(tmp_path / "dense.npy", dense)
    settings = dict(num_shards=2, score_dtype=score_dtype, compression="gzip")
    preprocessing.preprocess(load_teacher(str(tmp_path / "dense.npy")),
                             str(tmp_path / "train.tsv"), labels_path,
                             str(tmp_path / "a"), top_k=K, verbose=0,
                             **settings)
    with record_writer.RecordSetWriter(str(tmp_path / "b"), labels_path,
                                       COUNT, top_k=K, **settings) as w:
        for start in range(0, COUNT, 7):  # batches of any size
            rows = slice(start, start + 7)
            w.write(texts[rows], [names[y] for y in labels[rows]],
                    ids[rows], scores[rows])
    made = sorted(glob.glob(str(tmp_path / "b-*")))
    assert len(made) == 2
    for path in made:
        twin = path.replace(f"{os.sep}b-", f"{os.sep}a-")
        assert open(path, "rb").read() == open(twin, "rb").read()
    assert w.record_set.num_examples == COUNT
    batch = next(iter(reader.make_dataset(str(tmp_path / "b"), COUNT)))
    assert batch["label"].numpy().tolist() == labels.tolist()
    if score_dtype == "float32":  # read as protos, not through the codec
        _check_protos(made, texts, labels, ids, scores)


def _check_protos(paths, texts, labels, ids, scores):
    """Each record's tf.train.Example fields, against the rows written:
    the text, the label, and the top-K best first (ties: lower id first),
    its scores as given."""
    import tensorflow as tf

    examples = [tf.train.Example.FromString(raw.numpy()).features.feature
                for raw in tf.data.TFRecordDataset(paths, "GZIP")]
    assert len(examples) == COUNT
    for row, feature in enumerate(examples):
        order = sorted(range(K), key=lambda j: (-scores[row, j],
                                                ids[row, j]))
        assert feature["text"].bytes_list.value == [texts[row].encode()]
        assert feature["label"].int64_list.value == [labels[row]]
        assert list(feature["topk_ids"].int64_list.value) == [
            ids[row, j] for j in order]
        np.testing.assert_array_equal(
            feature["topk_scores"].float_list.value,
            np.float32([scores[row, j] for j in order]))


def test_bad_rows_are_named_and_nothing_is_left(tmp_path, rng):
    names, labels_path, texts, labels, ids, scores = _data(tmp_path, rng)
    prefix = str(tmp_path / "b")
    cases = []
    out_of_range = ids.copy()
    out_of_range[8, 2] = N
    cases.append((out_of_range, scores, "example 8 has a class id outside "
                  f"0..N-1={N - 1} ({N} at position 2)"))
    nan = scores.copy()
    nan[3, 0] = np.nan
    cases.append((ids, nan, "example 3 has a score that is NaN or Inf"))
    twice = ids.copy()
    twice[5, 3] = twice[5, 1]
    cases.append((twice, scores, "example 5 has a class id twice "
                  f"({twice[5, 1]} at position 3)"))
    cases.append((ids[:, :3], scores[:, :3], "expected [50, 5] each (K=5)"))
    halves = ids + 0.5
    cases.append((halves, scores, "example 0 has a class id that is not a "
                  f"whole number ({halves[0, 0]} at position 0)"))
    for bad_ids, bad_scores, message in cases:
        with pytest.raises(ValueError, match=re.escape(message)):
            record_writer.write_record_set(prefix, labels_path, texts,
                                           labels, bad_ids, bad_scores,
                                           top_k=K, batch_size=COUNT)
        assert glob.glob(prefix + "*") == []
    # probabilities that are not, by the set's score kind
    for bad in (5.0, -0.2):
        odd = np.full_like(scores, 0.1)
        odd[7, 1] = bad
        with pytest.raises(ValueError, match=re.escape(
                f"example 7 has a score outside [0, 1] (probabilities), or "
                f"NaN or Inf ({bad:g} at position 1)")):
            with record_writer.RecordSetWriter(
                    prefix, labels_path, COUNT, top_k=K,
                    scores="probabilities") as w:
                w.write(texts, labels, ids, odd)
        assert glob.glob(prefix + "*") == []
    # texts as preprocess reads them: bytes are UTF-8, empty ones refused
    for bad_texts, message in (
            (texts[:9] + [""] + texts[10:], "example 9 has an empty text"),
            (texts[:2] + [b"\xff"] + texts[3:], "example 2 has a text that "
             "is not UTF-8"),
            (texts[:4] + [7] + texts[5:], "example 4 has a text of type "
             "int; expected str")):
        with pytest.raises(ValueError, match=re.escape(message)):
            record_writer.write_record_set(prefix, labels_path, bad_texts,
                                           labels, ids, scores, top_k=K,
                                           batch_size=COUNT)
        assert glob.glob(prefix + "*") == []
    as_bytes = [t.encode() for t in texts]
    written = record_writer.write_record_set(
        prefix, labels_path, as_bytes, labels, ids, scores, top_k=K)
    stored = [t.decode() for batch in reader.texts([written])
              for t in batch.numpy()]
    assert sorted(stored) == sorted(texts)  # "text number 0", not "b'...'"
    for path in glob.glob(prefix + "*"):
        os.remove(path)
    writer = record_writer.RecordSetWriter(prefix, labels_path, COUNT,
                                           top_k=K)
    with pytest.raises(ValueError, match="write\\(\\) outside the "
                       "writer's with-block"):
        writer.write(texts, labels, ids, scores)
    with record_writer.RecordSetWriter(prefix, labels_path, COUNT,
                                       top_k=K) as done:
        done.write(texts, labels, ids, scores)
    with pytest.raises(ValueError, match="outside the writer's with-block"):
        done.write(texts, labels, ids, scores)  # after the block: refused
    assert records.RecordSet.read(prefix).num_examples == COUNT
    for path in glob.glob(prefix + "*"):
        os.remove(path)
    for bad, message in (({"max_labels": True, "label_space": MultiLabel()},
                          "max_labels=True; expected the most labels an "
                          "example has"),
                         ({"max_labels": 0, "label_space": MultiLabel()},
                          "max_labels=0; expected the most labels an "
                          "example has (0 for an unlabeled set)"),
                         ({"max_labels": 2}, "max_labels=2; expected "
                          "max_labels with label_space=MultiLabel() only"),
                         ({"num_examples": 5.5}, "num_examples=5.5; "
                          "expected an integer >= 1")):
        with pytest.raises(ValueError, match=re.escape(message)):
            settings = dict(dict(num_examples=COUNT, top_k=K), **bad)
            with record_writer.RecordSetWriter(prefix, labels_path,
                                               **settings):
                pass
    assert glob.glob(prefix + "*") == []
    with pytest.raises(ValueError, match="3 places in where= for 50 texts"):
        with record_writer.RecordSetWriter(prefix, labels_path, COUNT,
                                           top_k=K) as w:
            w.write(texts, labels, ids, scores, where=["a", "b", "c"])
    assert glob.glob(prefix + "*") == []
    with pytest.raises(ValueError, match="40 records written, 50 announced"):
        with record_writer.RecordSetWriter(prefix, labels_path, COUNT,
                                           top_k=K) as w:
            w.write(texts[:40], labels[:40], ids[:40], scores[:40])
    assert glob.glob(prefix + "*") == []


def test_the_readme_loop_without_a_framework(tmp_path, rng):
    """README's PyTorch loop, with numpy standing in for the model."""
    names, labels_path, texts, labels, _, _ = _data(tmp_path, rng)
    weights = rng.normal(size=(8, N)).astype(np.float32)
    loader = [(texts[i:i + 16], [names[y] for y in labels[i:i + 16]])
              for i in range(0, COUNT, 16)]
    with record_writer.RecordSetWriter(str(tmp_path / "train"), labels_path,
                                       num_examples=COUNT, top_k=K,
                                       num_shards=2) as writer:
        for batch_texts, batch_labels in loader:
            features = np.stack([rng.normal(size=8) for _ in batch_texts])
            logits = features @ weights                     # [B, N]
            ids = np.argsort(-logits, axis=1)[:, :K]        # logits.topk(K)
            scores = np.take_along_axis(logits, ids, 1)
            writer.write(batch_texts, batch_labels, ids, scores)
    batch = next(iter(reader.make_dataset(str(tmp_path / "train"), COUNT)))
    assert batch["topk_ids"].shape == (COUNT, K)
    assert [names[y] for y in batch["label"].numpy()] == [
        names[y] for y in labels]


def test_multi_label_shards_are_those_preprocess_writes(tmp_path, rng):
    names, labels_path, texts, _, ids, scores = _data(tmp_path, rng)
    tags = [sorted(rng.choice(N, 1 + i % 3, replace=False).tolist())
            for i in range(COUNT)]
    with open(tmp_path / "multi.tsv", "w") as f:
        for text, row in zip(texts, tags):
            f.write(f"{text}\t{'|'.join(names[c] for c in row)}\n")
    dense = np.full((COUNT, N), -50.0, np.float32)
    np.put_along_axis(dense, ids, scores, axis=1)
    np.save(tmp_path / "dense.npy", dense)
    preprocessing.preprocess(
        load_teacher(str(tmp_path / "dense.npy"), "sigmoid_logits"),
        str(tmp_path / "multi.tsv"), labels_path, str(tmp_path / "a"),
        top_k=K, num_shards=2, verbose=0)
    with record_writer.RecordSetWriter(str(tmp_path / "b"), labels_path,
                                       COUNT, top_k=K, num_shards=2,
                                       label_space=MultiLabel(),
                                       max_labels=3) as w:
        for start in range(0, COUNT, 9):
            rows = slice(start, start + 9)
            w.write(texts[rows], [[names[c] for c in row]
                                  for row in tags[rows]],
                    ids[rows], scores[rows])
    assert w.record_set.multi_label and w.record_set.max_labels == 3
    for path in sorted(glob.glob(str(tmp_path / "b-*"))):
        twin = path.replace(f"{os.sep}b-", f"{os.sep}a-")
        assert open(path, "rb").read() == open(twin, "rb").read()
    for prefix, labels, message in (
            ("c", [1, 1], r"example 0 has labels \[1, 1\]; expected each "
             "once"),
            ("d", [], r"example 0 has labels \[\]; expected a list of "
             "1..max_labels=3")):
        with pytest.raises(ValueError, match=message):
            with record_writer.RecordSetWriter(
                    str(tmp_path / prefix), labels_path, COUNT, top_k=K,
                    label_space=MultiLabel(), max_labels=3) as w:
                w.write(texts[:1], [labels], ids[:1], scores[:1])
    assert not glob.glob(str(tmp_path / "c[-.]*")) + glob.glob(
        str(tmp_path / "d[-.]*"))
