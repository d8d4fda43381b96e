"""Student word vectors distilled from the teacher's encoder.

A student that starts from random word vectors must learn what every word
means from the training texts alone; the teacher's encoder already knows.
As Model2Vec does for all-MiniLM-L6-v2 ("potion" static embeddings), each
word of the student's vocabulary is passed alone through the encoder and
its pooled output becomes the word's vector; PCA reduces the vectors to the
student's width, and optionally each is weighted by its word's frequency
(SIF: `a / (a + p(word))`, so that frequent words weigh less in the
student's mean). The result is an `.npz` file that `train --init_embeddings`
(and `text_models.make_student(embeddings=...)`) starts the student from.

File format (one owner: this module): `vocabulary` (str [V], the student's
`TextVectorization` vocabulary, padding "" and "[UNK]" first), `vectors`
(int8 [V, D]) and `scales` (float32 [V]): each row is `vectors * scale`,
symmetric 8-bit quantisation per row (relative error under 0.4% of the
row's largest value, half float16's bytes), `encoder` (str, the checkpoint
it came from).
"""

import os
import re

import numpy as np

from topk_distill.utils import progress
from topk_distill.utils.pca import pca

SIF_A = 1e-3
# How `make_init` gets the words' vectors.
METHODS = ("context", "words", "tokenlearn")
# Keras TextVectorization's default standardisation ("lower_and_strip_
# punctuation"), so that words here are the student's words.
_PUNCTUATION = re.compile(r"[!\"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~']")


def standardize(text):
    """A text as the student's `TextVectorization` sees it: lowercase, no
    punctuation.

    Examples:
        >>> standardize("A Cat's toy, (red)!")
        'a cats toy red'
    """
    return _PUNCTUATION.sub("", text.lower())


def vocabulary(texts, max_tokens=20_000):
    """The student's vocabulary: what `TextVectorization.adapt` makes.

    Args:
        texts: strings.
        max_tokens: vocabulary size, padding and "[UNK]" included.

    Returns:
        (a list of V words, padding "" and "[UNK]" first; int64 counts
        [V] of each word in texts, 0 for the first two).
    """
    import keras

    texts = np.array(list(texts), object)
    layer = keras.layers.TextVectorization(max_tokens=max_tokens)
    layer.adapt(texts)
    words = layer.get_vocabulary()
    ids = keras.ops.convert_to_numpy(layer(texts))
    counts = np.bincount(ids.ravel(), minlength=len(words)).astype(np.int64)
    counts[:2] = 0
    return words, counts


def sif_weights(counts, a=SIF_A):
    """SIF weights `a / (a + p(word))` from word counts (0 for count 0).

    Examples:
        >>> sif_weights(np.array([0, 1, 999]), a=1e-3).round(3).tolist()
        [0.0, 0.5, 0.001]
    """
    counts = np.asarray(counts, np.float64)
    p = counts / max(counts.sum(), 1)
    return np.where(counts > 0, a / (a + p), 0.0)


def encode_words(encoder_dir, words, batch_size=512, verbose=1):
    """Each word alone through the encoder: float32 [len(words), D0].

    The vector is the encoder teacher's `"embedding"` layer
    (`encoder_models.make_encoder_teacher`): mean-pooled token vectors, L2
    normalised.
    """
    import keras

    from topk_distill.models import encoder_models

    teacher = encoder_models.make_encoder_teacher(encoder_dir, num_classes=1,
                                                  sequence_length=16)
    embed = keras.Model(teacher.input, teacher.get_layer("embedding").output)
    return embed.predict(np.array(words, object), batch_size=batch_size,
                         verbose=verbose).astype(np.float32)


def context_vectors(encoder_dir, texts, words, batch_size=128,
                    sequence_length=64, verbose=1):
    """Each word's contextual vector, averaged over its uses in texts.

    Every text goes through the encoder once (word by word: the words the
    student sees, each split in the encoder's WordPieces); a use of a word
    is the mean of its pieces' output vectors; a word's vector is the mean
    of its uses. The mean of a text's word vectors then approximates the
    encoder's own mean-pooled output for it, which is what a mean-pooling
    teacher's head reads.

    Args:
        encoder_dir: the encoder checkpoint folder.
        texts: the texts (raw; standardised as the student does).
        words: the vocabulary (`vocabulary`'s first value).
        batch_size: texts per encoder call.
        sequence_length: WordPieces per text ([CLS] and [SEP] included;
            words past it are not counted).
        verbose: 1 shows a progress bar.

    Returns:
        (float32 [V, D] vectors, int64 [V] uses); rows of unused words are 0.
    """
    import keras
    import keras_hub

    tokenizer = keras_hub.models.BertTokenizer.from_preset(encoder_dir)
    backbone = keras_hub.models.BertBackbone.from_preset(encoder_dir)
    index = {word: i for i, word in enumerate(words) if i >= 2}
    split = [standardize(text).split() for text in texts]
    unique = sorted({word for text in split for word in text})
    pieces = dict(zip(unique, (list(map(int, p)) for p in tokenizer(unique))))
    sums = np.zeros((len(words), backbone.hidden_dim), np.float64)
    uses = np.zeros(len(words), np.float64)
    bar = progress.progress_bar(len(texts), verbose=verbose, unit_name="text")
    for start in range(0, len(texts), batch_size):
        batch = split[start:start + batch_size]
        ids = np.full((len(batch), sequence_length), tokenizer.pad_token_id)
        owner = np.full(ids.shape, -1)
        weight = np.zeros(ids.shape, np.float32)
        mask = np.zeros(ids.shape, bool)
        for b, text in enumerate(batch):
            row, owners, weights = [tokenizer.cls_token_id], [-1], [0.0]
            for word in text:
                word_pieces = pieces[word]
                if len(row) + len(word_pieces) >= sequence_length:
                    break
                row += word_pieces
                owners += [index.get(word, -1)] * len(word_pieces)
                weights += [1.0 / max(len(word_pieces), 1)] * len(word_pieces)
            row.append(tokenizer.sep_token_id)
            ids[b, :len(row)] = row
            owner[b, :len(owners)] = owners
            weight[b, :len(weights)] = weights
            mask[b, :len(row)] = True
        out = keras.ops.convert_to_numpy(backbone.predict_on_batch({
            "token_ids": ids, "segment_ids": np.zeros_like(ids),
            "padding_mask": mask})["sequence_output"])
        used = owner >= 0
        np.add.at(sums, owner[used], out[used] * weight[used][:, None])
        # A use's piece weights sum to 1: summed, they count the uses.
        np.add.at(uses, owner[used], weight[used])
        bar.add(len(batch))
    uses = np.round(uses).astype(np.int64)
    vectors = sums / np.maximum(uses, 1)[:, None]
    return vectors.astype(np.float32), uses


def make_init(encoder_dir, texts, dim=256, max_tokens=20_000,
              frequency_weighting=False, method="context", verbose=1):
    """Builds the student's initial word vectors from the teacher's encoder.

    Args:
        encoder_dir: the encoder checkpoint folder (as `teacher --encoder`).
        texts: the student's training texts (they fix its vocabulary).
        dim: the student's embedding width (PCA; at most the encoder's).
        max_tokens: the student's vocabulary size.
        frequency_weighting: weight each vector by SIF (`sif_weights`).
        method: `"context"` (default): each word's vector averaged over its
            uses in texts (`context_vectors`; words never reached, e.g.
            past the sequence length, fall back to `"words"`); `"words"`:
            each word alone through the encoder (Model2Vec's way, faster);
            `"tokenlearn"`: `"context"`'s vectors, then trained so that a
            text's mean reproduces the encoder's sentence embedding of it
            (`tokenlearn.tokenlearn`; the encoder runs over the texts
            twice).
        verbose: 1 shows a progress bar over the words.

    Returns:
        (vocabulary: list of V strings, vectors: float32 [V, dim]); the
        padding row is zeros, "[UNK]" the mean of the others.

    Examples:

        ```python
        words, vectors = make_init("all-MiniLM-L6-v2/", texts, dim=256)
        save("init.npz", words, vectors, encoder="all-MiniLM-L6-v2/")
        ```
    """
    if method not in METHODS:
        raise ValueError(f"method={method!r}; expected one of "
                         f"{', '.join(METHODS)}")
    texts = list(texts)
    if method == "tokenlearn":
        from topk_distill.models import tokenlearn

        table = make_init(encoder_dir, texts, dim, max_tokens,
                          frequency_weighting, "context", verbose)
        targets = tokenlearn.sentence_embeddings(encoder_dir, texts,
                                                 verbose=verbose)
        return table[0], tokenlearn.tokenlearn(
            table, texts, targets, verbose=progress.fit_verbose(verbose))[0]
    words, counts = vocabulary(texts, max_tokens)
    if method == "context":
        encoded, uses = context_vectors(encoder_dir, texts, words,
                                        verbose=verbose)
        encoded, unused = encoded[2:], np.flatnonzero(uses[2:] == 0)
        if len(unused):  # unit vectors, scaled as the used words' are
            scale = np.median(np.linalg.norm(encoded[uses[2:] > 0], axis=1))
            encoded[unused] = scale * encode_words(
                encoder_dir, [words[2 + i] for i in unused], verbose=0)
    else:
        encoded = encode_words(encoder_dir, words[2:], verbose=verbose)
    return words, reduce(encoded, counts[2:], dim, frequency_weighting)


def reduce(encoded, counts, dim, frequency_weighting=False):
    """The encoder's word vectors -> the student's starting table.

    Args:
        encoded: float [V - 2, D0], the vectors of the vocabulary's words
            (padding and "[UNK]" excluded).
        counts: int [V - 2], the words' counts (for SIF weighting).
        dim: the student's width (PCA).
        frequency_weighting: weight each vector by SIF (`sif_weights`).

    Returns:
        float32 [V, dim]: padding zeros, "[UNK]" the mean, then the words.
    """
    if dim > encoded.shape[1]:
        raise ValueError(f"--dim={dim} is wider than the encoder's "
                         f"{encoded.shape[1]}-d output")
    reduced = pca(encoded, dim)
    if frequency_weighting:
        reduced *= sif_weights(counts)[:, None].astype(np.float32)
    # Scale so the vectors' RMS matches Keras' default embedding init
    # (uniform(-0.05, 0.05): RMS 0.029): the student's learning rate fits.
    reduced *= 0.05 / np.sqrt(3) / max(np.sqrt(np.mean(reduced ** 2)), 1e-12)
    return np.concatenate([np.zeros((1, dim), np.float32),
                           reduced.mean(axis=0, keepdims=True), reduced])


def save(path, words, vectors, encoder=""):
    """Writes the init file atomically (see the module docstring)."""
    vectors = np.asarray(vectors, np.float32)
    scales = np.abs(vectors).max(axis=1) / 127.0
    quantized = np.round(vectors / np.maximum(scales, 1e-30)[:, None])
    tmp = path + ".tmp.npz"
    try:
        np.savez_compressed(tmp, vocabulary=np.array(words, dtype=str),
                            vectors=quantized.astype(np.int8),
                            scales=scales.astype(np.float32),
                            encoder=np.array(str(encoder)))
    except OSError as e:  # a full disk or a file-size limit: nothing left
        if os.path.exists(tmp):
            os.remove(tmp)
        raise OSError(f"--output={path}: cannot write it ({e.strerror or e})"
                      "; free space there or lift the file-size limit"
                      ) from None
    os.replace(tmp, path)


# TextVectorization's default standardisation: lowercase, punctuation out.
_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')


def share_known(vocabulary, texts):
    """The share of the words of `texts` (split as the student splits
    them) that `vocabulary` holds.

    Examples:
        >>> share_known(["", "[UNK]", "cat", "dog"], ["A cat.", "the dog"])
        0.5
    """
    known = set(vocabulary)
    words = [w for text in texts
             for w in _PUNCTUATION.sub("", text.lower()).split()]
    return sum(w in known for w in words) / max(len(words), 1)


def load(path):
    """Reads an init file: (vocabulary list, float32 vectors [V, D]).

    Raises:
        ValueError: one line naming the file, when it is not one.
    """
    try:
        with np.load(path, allow_pickle=False) as f:
            words, vectors = list(f["vocabulary"]), f["vectors"]
            vectors = vectors * f["scales"][:, None]
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except KeyError as e:
        name = str(e.args[0]).split(" is not a file")[0]
        raise ValueError(f"{path}: not a student-init file (no {name!r} "
                         "array; expected the .npz `topk-distill "
                         "student-init` writes)") from None
    except (OSError, ValueError) as e:
        what = ("holds an array of objects" if "Object arrays" in str(e)
                else "not an .npz archive")
        raise ValueError(f"{path}: not a student-init file ({what}; "
                         "expected the .npz `topk-distill student-init` "
                         "writes)") from None
    if vectors.ndim != 2 or len(words) != vectors.shape[0] or len(words) < 2:
        raise ValueError(f"{path}: vectors {vectors.shape} do not match a "
                         f"vocabulary of {len(words)} words")
    words = [str(w) for w in words]
    if not np.isfinite(vectors).all():
        row = int(np.argwhere(~np.isfinite(vectors))[0, 0])
        raise ValueError(f"{path}: the vector of word {words[row]!r} (row "
                         f"{row}) holds NaN or Inf; expected finite vectors")
    seen = {}
    for row, word in enumerate(words):
        if word in seen:
            raise ValueError(f"{path}: word {word!r} twice (rows "
                             f"{seen[word]} and {row}); expected each once")
        seen[word] = row
    return words, vectors.astype(np.float32)
