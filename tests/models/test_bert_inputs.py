"""BertInputs: an encoder's inputs padded to each batch's longest text."""

import numpy as np
import tensorflow as tf

from tests.conftest import encoder_folder
from topk_distill.models import encoder_models
from topk_distill.models.bert_inputs import BertInputs


def _tokenizer():
    import keras_hub

    return keras_hub.models.BertTokenizer.from_preset(encoder_folder())


def test_pads_to_the_longest_text_and_truncates_to_the_cap():
    tokenizer = _tokenizer()
    packer = BertInputs(tokenizer, sequence_length=6)
    short = packer(tf.constant(["a dog", "a small dog"]))
    ids = short["token_ids"].numpy()
    assert ids.shape == (2, 5)  # [CLS] a small dog [SEP]
    assert ids[0].tolist() == [tokenizer.cls_token_id,
                               *np.asarray(tokenizer("a dog")).tolist(),
                               tokenizer.sep_token_id,
                               tokenizer.pad_token_id]
    assert short["padding_mask"].numpy().tolist() == [
        [True] * 4 + [False], [True] * 5]
    assert not short["segment_ids"].numpy().any()
    long = packer(tf.constant(["one two three four five six seven"]))
    assert long["token_ids"].numpy().tolist()[0] == [
        tokenizer.cls_token_id,
        *np.asarray(tokenizer("one two three four")).tolist(),
        tokenizer.sep_token_id]


def test_encoder_teacher_logits_do_not_depend_on_padding():
    texts = np.array(["a dog", "a large river in Europe flowing into the "
                      "North Sea", "tree"], object)
    fixed = encoder_models.make_encoder_teacher(encoder_folder(), 4,
                                                sequence_length=32,
                                                pad_to_longest=False)
    longest = encoder_models.make_encoder_teacher(encoder_folder(), 4,
                                                  sequence_length=32)
    longest.set_weights(fixed.get_weights())
    np.testing.assert_allclose(longest.predict(texts, verbose=0),
                               fixed.predict(texts, verbose=0), atol=1e-5)
    # alone or beside a longer text, a text gets the same logits
    np.testing.assert_allclose(longest.predict(texts[:1], verbose=0),
                               longest.predict(texts[:2], verbose=0)[:1],
                               atol=1e-5)
