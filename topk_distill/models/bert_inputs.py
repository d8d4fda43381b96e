"""A BERT-family encoder's inputs, padded to each batch's longest text.

keras-hub's `BertTextClassifierPreprocessor` pads every text to its fixed
`sequence_length`; short texts (WordNet glosses average 12.5 words,
product descriptions 6-7) then spend most of each encoder pass on padding.
`BertInputs` truncates to `sequence_length` like it, but pads each batch
only to its longest text, so a batch of short texts costs what its texts
need. The encoder's outputs at the real tokens are the same either way
(padding is masked out of attention); only float rounding differs.
"""

import keras


@keras.saving.register_keras_serializable(package="topk_distill")
class BertInputs(keras.layers.Layer):
    """Strings [B] -> a BERT encoder's inputs, padded to the batch's longest.

    `[CLS] wordpieces [SEP]`, truncated to `sequence_length` tokens, then
    padded (with the tokenizer's pad id) to the longest text of the batch:
    `{"token_ids", "segment_ids", "padding_mask"}`, each [B, L] with
    L <= `sequence_length`.

    Args:
        tokenizer: a keras-hub `BertTokenizer` (or one with the same
            `cls_token_id`, `sep_token_id` and `pad_token_id`).
        sequence_length: the most tokens kept per text, `[CLS]` and `[SEP]`
            included.

    Examples:

        ```python
        tokenizer = keras_hub.models.BertTokenizer.from_preset("all-MiniLM-L6-v2/")
        BertInputs(tokenizer, 128)(tf.constant(["a dog", "a small brown dog"]))
        # token_ids of shape [2, 7]: the longer text's 5 wordpieces, CLS and SEP
        ```
    """

    def __init__(self, tokenizer, sequence_length=128, **kwargs):
        super().__init__(**kwargs)
        if sequence_length < 3:
            raise ValueError(f"sequence_length={sequence_length}; expected "
                             "at least 3 ([CLS], a token, [SEP])")
        self.tokenizer = tokenizer
        self.sequence_length = sequence_length

    def call(self, text):
        import tensorflow as tf

        pieces = self.tokenizer(text)
        if not isinstance(pieces, tf.RaggedTensor):  # eager: Python lists
            pieces = tf.ragged.constant(pieces, dtype="int32", ragged_rank=1)
        pieces = pieces[:, :self.sequence_length - 2]
        rows = pieces.nrows()
        dtype = pieces.dtype

        def column(value):
            return tf.RaggedTensor.from_tensor(
                tf.fill(tf.stack([rows, 1]), tf.cast(value, dtype)))

        packed = tf.concat([column(self.tokenizer.cls_token_id), pieces,
                            column(self.tokenizer.sep_token_id)], axis=1)
        token_ids = packed.to_tensor(
            default_value=tf.cast(self.tokenizer.pad_token_id, dtype))
        mask = tf.sequence_mask(packed.row_lengths(), tf.shape(token_ids)[1])
        return {"token_ids": tf.cast(token_ids, "int32"),
                "segment_ids": tf.zeros_like(token_ids, "int32"),
                "padding_mask": mask}

    def compute_output_spec(self, text):
        shape = (text.shape[0], None)
        return {"token_ids": keras.KerasTensor(shape, "int32"),
                "segment_ids": keras.KerasTensor(shape, "int32"),
                "padding_mask": keras.KerasTensor(shape, "bool")}

    def get_config(self):
        return {**super().get_config(),
                "tokenizer": keras.layers.serialize(self.tokenizer),
                "sequence_length": self.sequence_length}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["tokenizer"] = keras.layers.deserialize(config["tokenizer"])
        return cls(**config)
