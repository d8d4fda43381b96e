"""Hugging Face classifier folders as teachers, checked against numpy."""

import json
import math

import numpy as np
import pytest
import tensorflow as tf
from safetensors.numpy import save_file

from topk_distill.teachers import hf_teacher

WORDS = ["a", "cat", "dog", "river", "in", "europe", "small", "bird"]
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
H, LAYERS, HEADS, INNER, N, POSITIONS = 16, 2, 2, 32, 5, 32
TEXTS = ["a cat", "dog river in europe", "a small bird", "bird"]


def _write(folder, family, rng):
    """A tiny random checkpoint as Hugging Face saves one."""
    vocab = SPECIAL + WORDS
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    (folder / "tokenizer_config.json").write_text(
        json.dumps({"do_lower_case": True}))
    labels = {str(i): f"class{i}" for i in range(N)}

    def w(*shape):
        return (rng.normal(size=shape) * 0.3).astype(np.float32)

    if family == "bert":
        config = dict(model_type="bert",
                      architectures=["BertForSequenceClassification"],
                      vocab_size=len(vocab), hidden_size=H,
                      num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                      intermediate_size=INNER, hidden_act="gelu",
                      max_position_embeddings=POSITIONS, type_vocab_size=2,
                      layer_norm_eps=1e-12, id2label=labels)
        p = "bert."
        t = {p + "embeddings.word_embeddings.weight": w(len(vocab), H),
             p + "embeddings.position_embeddings.weight": w(POSITIONS, H),
             p + "embeddings.token_type_embeddings.weight": w(2, H),
             p + "embeddings.LayerNorm.weight": 1 + w(H),
             p + "embeddings.LayerNorm.bias": w(H),
             p + "pooler.dense.weight": w(H, H), p + "pooler.dense.bias": w(H),
             "classifier.weight": w(N, H), "classifier.bias": w(N)}
        layer = f"{p}encoder.layer."
        linears = ("attention.self.query", "attention.self.key",
                   "attention.self.value", "attention.output.dense",
                   "intermediate.dense", "output.dense")
        norms = ("attention.output.LayerNorm", "output.LayerNorm")
    else:
        config = dict(model_type="distilbert",
                      architectures=["DistilBertForSequenceClassification"],
                      vocab_size=len(vocab), dim=H, n_layers=LAYERS,
                      n_heads=HEADS, hidden_dim=INNER, activation="gelu",
                      dropout=0.1, max_position_embeddings=POSITIONS,
                      id2label=labels)
        p = "distilbert."
        t = {p + "embeddings.word_embeddings.weight": w(len(vocab), H),
             p + "embeddings.position_embeddings.weight": w(POSITIONS, H),
             p + "embeddings.LayerNorm.weight": 1 + w(H),
             p + "embeddings.LayerNorm.bias": w(H),
             "pre_classifier.weight": w(H, H), "pre_classifier.bias": w(H),
             "classifier.weight": w(N, H), "classifier.bias": w(N)}
        layer = f"{p}transformer.layer."
        linears = ("attention.q_lin", "attention.k_lin", "attention.v_lin",
                   "attention.out_lin", "ffn.lin1", "ffn.lin2")
        norms = ("sa_layer_norm", "output_layer_norm")
    # Both families' blocks: Q, K, V, attention output, FFN in and out
    # (PyTorch [out, in] weights), then two layer norms.
    shapes = [(H, H)] * 4 + [(INNER, H), (H, INNER)]
    for i in range(LAYERS):
        for name, shape in zip(linears, shapes):
            t[f"{layer}{i}.{name}.weight"] = w(*shape)
            t[f"{layer}{i}.{name}.bias"] = w(shape[0])
        for name in norms:
            t[f"{layer}{i}.{name}.weight"] = 1 + w(H)
            t[f"{layer}{i}.{name}.bias"] = w(H)
    (folder / "config.json").write_text(json.dumps(config))
    save_file(t, str(folder / "model.safetensors"))
    return t


def _numpy_logits(t, family, text):
    """The classifier's logits for one text, in plain numpy (as the
    Hugging Face modules compute them; dropout off)."""
    vocab = SPECIAL + WORDS
    ids = [2] + [vocab.index(word) for word in text.split()] + [3]

    def norm(x, key):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-12) * t[key + ".weight"] + \
            t[key + ".bias"]

    def linear(x, key):
        return x @ t[key + ".weight"].T + t[key + ".bias"]

    def gelu(x):
        return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))

    def attention(x, q, k, v, o):
        d = H // HEADS
        split = [linear(x, key).reshape(len(ids), HEADS, d).transpose(1, 0, 2)
                 for key in (q, k, v)]
        scores = split[0] @ split[1].transpose(0, 2, 1) / math.sqrt(d)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        context = (scores / scores.sum(-1, keepdims=True)) @ split[2]
        return linear(context.transpose(1, 0, 2).reshape(len(ids), H), o)

    if family == "bert":
        p = "bert."
        x = (t[p + "embeddings.word_embeddings.weight"][ids] +
             t[p + "embeddings.position_embeddings.weight"][:len(ids)] +
             t[p + "embeddings.token_type_embeddings.weight"][0])
        x = norm(x, p + "embeddings.LayerNorm")
        for i in range(LAYERS):
            q = f"{p}encoder.layer.{i}."
            a = attention(x, *(q + "attention.self." + n for n in
                               ("query", "key", "value")),
                          q + "attention.output.dense")
            x = norm(x + a, q + "attention.output.LayerNorm")
            f = linear(gelu(linear(x, q + "intermediate.dense")),
                       q + "output.dense")
            x = norm(x + f, q + "output.LayerNorm")
        pooled = np.tanh(linear(x[0], p + "pooler.dense"))
        return linear(pooled, "classifier")
    p = "distilbert."
    x = (t[p + "embeddings.word_embeddings.weight"][ids] +
         t[p + "embeddings.position_embeddings.weight"][:len(ids)])
    x = norm(x, p + "embeddings.LayerNorm")
    for i in range(LAYERS):
        q = f"{p}transformer.layer.{i}."
        a = attention(x, *(q + "attention." + n for n in
                           ("q_lin", "k_lin", "v_lin", "out_lin")))
        x = norm(x + a, q + "sa_layer_norm")
        f = linear(gelu(linear(x, q + "ffn.lin1")), q + "ffn.lin2")
        x = norm(x + f, q + "output_layer_norm")
    pre = np.maximum(linear(x[0], "pre_classifier"), 0)
    return linear(pre, "classifier")


@pytest.mark.parametrize("family", ["bert", "distilbert"])
def test_logits_equal_an_independent_numpy_forward_pass(tmp_path, rng,
                                                        family):
    weights = _write(tmp_path, family, rng)
    model, names = hf_teacher.make_hf_teacher(str(tmp_path),
                                              sequence_length=12)
    assert names == [f"class{i}" for i in range(N)]
    got = model(tf.constant(TEXTS)).numpy()
    want = np.stack([_numpy_logits(weights, family, text) for text in TEXTS])
    assert np.abs(got - want).max() <= 1e-4


def test_unsupported_folders_are_one_line(tmp_path, rng):
    _write(tmp_path, "bert", rng)
    config = json.loads((tmp_path / "config.json").read_text())
    config["architectures"] = ["BertForMaskedLM"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="a BertForMaskedLM checkpoint; "
                       "expected one of BertForSequenceClassification, "
                       "DistilBertForSequenceClassification"):
        hf_teacher.make_hf_teacher(str(tmp_path))
    config.update(architectures=["BertForSequenceClassification"],
                  id2label={"0": "a", "2": "b"})
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="id2label does not name classes"):
        hf_teacher.make_hf_teacher(str(tmp_path))


def test_preprocess_and_export_take_the_folder(tmp_path, rng, capsys):
    from tests.conftest import run_command
    from topk_distill.records import records

    folder = tmp_path / "hf"
    folder.mkdir()
    _write(folder, "distilbert", rng)
    data = tmp_path / "in.tsv"
    data.write_text("".join(f"{t}\tclass{i % N}\n" for i, t in
                            enumerate(TEXTS)))
    assert run_command(["topk-distill", "preprocess", f"--teacher={folder}",
                        f"--input={data}", f"--output={tmp_path}/rec",
                        "--top_k=3", "--num_shards=1"]) == 0
    # id2label became the records' classes; nothing was written into the
    # user's model folder
    assert not (folder / "labels.txt").exists()
    record_set = records.RecordSet.read(str(tmp_path / "rec"))
    assert record_set.teacher["kind"] == "huggingface"
    assert record_set.labels == tuple(f"class{i}" for i in range(N))
    assert run_command(["topk-distill", "export", f"--model={folder}",
                        f"--output={tmp_path}/export", "--top_n=2"]) == 0
    served = tf.saved_model.load(str(tmp_path / "export")).signatures[
        "logits"](text=tf.constant(TEXTS[:1]))["logits"].numpy()
    model, _ = hf_teacher.make_hf_teacher(str(folder))
    np.testing.assert_allclose(served, model(tf.constant(TEXTS[:1])),
                               atol=1e-5)
    config = json.loads((folder / "config.json").read_text())
    config["architectures"] = ["DistilBertForQuestionAnswering"]
    (folder / "config.json").write_text(json.dumps(config))
    capsys.readouterr()
    assert run_command(["topk-distill", "preprocess", f"--teacher={folder}",
                        f"--input={data}", f"--output={tmp_path}/rec2",
                        "--num_shards=1"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (f"topk-distill preprocess: error: --teacher={folder}: a "
                   "DistilBertForQuestionAnswering checkpoint; expected one "
                   "of BertForSequenceClassification, "
                   "DistilBertForSequenceClassification")
    assert not list(tmp_path.glob("rec2*"))


def test_a_multi_label_config_makes_a_multi_label_teacher(tmp_path, rng):
    from topk_distill.teachers import teacher

    _write(tmp_path, "bert", rng)
    assert not teacher.load_teacher(str(tmp_path)).label_space.multi_label
    config = json.loads((tmp_path / "config.json").read_text())
    config["problem_type"] = "multi_label_classification"
    (tmp_path / "config.json").write_text(json.dumps(config))
    loaded = teacher.load_teacher(str(tmp_path))
    assert loaded.label_space.multi_label and loaded.outputs == "logits"


@pytest.mark.parametrize("id2label,message", [
    ({"0": "pos", "1": "pos"}, r"id2label\[1\]: 'pos' again \(also class 0\)"),
    ({"0": "pos", "1": "neg\n"}, r"id2label\[1\]: class name 'neg\\n' holds "
     "a line break"),
    ({"0": "", "1": "neg"}, r"id2label\[0\]: an empty class name"),
    ({"0": " pos", "1": "neg"}, r"id2label\[0\]: class name ' pos' has "
     "spaces at an end")])
def test_class_names_a_labels_file_could_not_keep_are_refused(id2label,
                                                              message):
    """Named against the folder's config.json, before any labels.txt is
    written from it (issue 43)."""
    with pytest.raises(ValueError, match="--teacher=hf/: config.json's "
                       + message):
        hf_teacher.class_names({"id2label": id2label}, "hf/")
