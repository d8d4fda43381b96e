"""The packed targets encoding (`score_dtype="q8"`): a few bytes per example.

One bytes value per record holds up to W (class id, value) pairs:

    [n: uint8] [low: float16] [n codes: uint8] [ids: Elias-Fano bits]

* the n ids, sorted ascending, in Elias-Fano form: each id's low `l` bits
  (`l = floor(log2(N / W))`) stored plainly, its high part `id >> l` in
  unary (bit `(id >> l) + i` set for the i-th id). For 20 of 4,123 ids that
  is about 25 bytes, near the 22 bytes that naming 20 of 4,123 classes
  takes at the least (log2 C(4123, 20) bits);
* their values, in log-space and at most 0 (logits minus the example's
  largest, or log-probabilities), quantised to 8 bits between `low` (the
  smallest, a float16) and 0: `value = low * code / 255`.

The writer (`pack`) runs in NumPy inside the serializing step; the reader
(`unpack`) in the TensorFlow graph, so tf.data (and the tf.data service)
parses whole batches.
"""

import numpy as np
import tensorflow as tf

HEADER_BYTES = 3
MAX_WIDTH = 255


def low_bits(num_classes, width):
    """Elias-Fano's low-bit count for up to `width` ids below `num_classes`.

    Examples:
        >>> low_bits(4123, 20), low_bits(100_000, 20), low_bits(5, 20)
        (7, 12, 0)
    """
    return max(0, int(np.floor(np.log2(max(num_classes, 1) /
                                       max(width, 1)))))


def max_bytes(num_classes, width):
    """The largest payload: header, codes and Elias-Fano bits at n = W."""
    low = low_bits(num_classes, width)
    high = ((num_classes - 1) >> low) + width
    return HEADER_BYTES + width + -(-(width * low + high) // 8)


def pack(ids, values, num_classes, width):
    """Packs a batch of (ids, values) rows, one bytes value per row.

    Args:
        ids: int [B, W] class ids in [0, N); negative ids are padding.
        values: float [B, W] log-space values <= 0 (larger is more likely).
        num_classes: N.
        width: W, at most 255.

    Returns:
        object [B]: the payloads.

    Examples:
        >>> import numpy as np
        >>> payload = pack(np.array([[7, 2, -1]]), np.array([[0.0, -2.0, 0.0]]),
        ...                num_classes=10, width=3)
        >>> len(payload[0])  # 3 header bytes, 2 codes, 1 byte of id bits
        6
    """
    ids = np.asarray(ids, np.int64)
    values = np.asarray(values, np.float32)
    rows, slots = ids.shape
    valid = ids >= 0
    count = valid.sum(axis=1)
    order = np.argsort(np.where(valid, ids, np.iinfo(np.int64).max), axis=1,
                       kind="stable")
    ids = np.take_along_axis(ids, order, 1)
    values = np.minimum(np.take_along_axis(values, order, 1), 0.0)
    valid = np.arange(slots)[None, :] < count[:, None]
    low = np.where(valid, values, 0.0).min(axis=1).astype(np.float16)
    scale = np.where(low < 0, 255.0 / np.where(low < 0, low, -1.0), 0.0)
    codes = np.where(valid, np.rint(values * scale[:, None]), 0).clip(0, 255)
    low_count = low_bits(num_classes, width)
    bits = _elias_fano_bits(np.where(valid, ids, 0), valid, count, low_count,
                            num_classes, width)
    packed = np.packbits(bits, axis=1, bitorder="little")
    used = -(-_used_bits(ids, count, low_count) // 8)
    header = np.concatenate([count.astype(np.uint8)[:, None],
                             low.view(np.uint8).reshape(rows, 2)], axis=1)
    codes = codes.astype(np.uint8)
    return np.array([header[r].tobytes() + codes[r, :count[r]].tobytes() +
                     packed[r, :used[r]].tobytes() for r in range(rows)],
                    dtype=object)


def _used_bits(sorted_ids, count, low):
    """Bits each row's Elias-Fano form takes: n*l low bits plus the high
    part's unary code up to its last set bit."""
    last = np.take_along_axis(sorted_ids, np.maximum(count - 1, 0)[:, None],
                              1)[:, 0]
    return np.where(count > 0, count * low + (last >> low) + count, 0)


def _elias_fano_bits(ids, valid, count, low, num_classes, width):
    """The Elias-Fano bits of each row, as a [B, bits] 0/1 array."""
    rows, slots = ids.shape
    high_size = ((num_classes - 1) >> low) + width
    bits = np.zeros((rows, width * low + high_size), np.uint8)
    if low:
        low_part = (ids[:, :, None] >> np.arange(low)) & 1
        low_part = np.where(valid[:, :, None], low_part, 0)
        bits[:, :slots * low] = low_part.reshape(rows, slots * low)
    ones = count[:, None] * low + (ids >> low) + np.arange(slots)[None, :]
    row_index = np.broadcast_to(np.arange(rows)[:, None], ones.shape)
    bits[row_index[valid], ones[valid]] = 1
    return bits


def unpack(payload, num_classes, width):
    """Unpacks a batch of payloads, in the TensorFlow graph.

    Args:
        payload: string [B], as `pack` writes them.
        num_classes: N.
        width: W.

    Returns:
        `(ids, values)`: int64 [B, W] class ids (-1 where a row has fewer)
        and float32 [B, W] values (0 there), ids ascending.

    Examples:
        >>> import numpy as np
        >>> import tensorflow as tf
        >>> payload = pack(np.array([[7, 2, -1]]), np.array([[0.0, -2.0, 0.0]]),
        ...                num_classes=10, width=3)
        >>> ids, values = unpack(tf.constant(payload.tolist()), 10, 3)
        >>> ids.numpy().tolist(), values.numpy().tolist()
        ([[2, 7, -1]], [[-2.0, 0.0, 0.0]])
    """
    low = low_bits(num_classes, width)
    high_size = ((num_classes - 1) >> low) + width
    ef_bytes = -(-(width * low + high_size) // 8)
    size = HEADER_BYTES + width + ef_bytes
    raw = tf.cast(tf.io.decode_raw(payload, tf.uint8, fixed_length=size),
                  tf.int32)
    count = tf.minimum(raw[:, 0], width)  # Only a damaged record says more.
    valid = tf.range(width)[None, :] < count[:, None]
    smallest = tf.cast(tf.bitcast(tf.cast(
        raw[:, 1] + raw[:, 2] * 256, tf.uint16), tf.float16), tf.float32)
    codes = tf.cast(raw[:, HEADER_BYTES:HEADER_BYTES + width], tf.float32)
    # + 0.0 turns the -0.0 of a zero code into 0.0.
    values = tf.where(valid, smallest[:, None] * codes / 255.0 + 0.0, 0.0)
    # The Elias-Fano bytes start after the row's n codes.
    start = HEADER_BYTES + count[:, None] + tf.range(ef_bytes)[None, :]
    ef = tf.gather(raw, start, batch_dims=1)
    bits = tf.reshape(tf.bitwise.bitwise_and(
        tf.bitwise.right_shift(ef[:, :, None], tf.range(8)), 1),
        [-1, ef_bytes * 8])
    low_part = tf.zeros_like(valid, tf.int64)
    if low:
        low_bits_ = tf.reshape(bits[:, :width * low], [-1, width, low])
        weights = tf.bitwise.left_shift(tf.ones([low], tf.int64),
                                        tf.range(low, dtype=tf.int64))
        low_part = tf.reduce_sum(tf.cast(low_bits_, tf.int64) * weights, -1)
    high = tf.gather(bits, count[:, None] * low + tf.range(high_size)[None, :],
                     batch_dims=1)
    # Positions of the set bits, in order: a stable sort puts them first.
    ones = tf.argsort(1 - high, axis=1, stable=True)[:, :width]
    high_part = tf.cast(ones - tf.range(width)[None, :], tf.int64)
    ids = tf.bitwise.bitwise_or(tf.bitwise.left_shift(
        high_part, tf.constant(low, tf.int64)), low_part)
    return tf.where(valid, ids, -1), values


def check(payload, num_classes, width):
    """Checks one payload's structure; returns a reason it is not one, or
    `None`.

    Examples:
        >>> import numpy as np
        >>> good = pack(np.array([[4, 1]]), np.array([[0.0, -1.0]]), 9, 2)[0]
        >>> check(good, 9, 2) is None
        True
        >>> check(good[:-1], 9, 2)
        '2 classes announced, fewer encoded (cut short?)'
    """
    if len(payload) < HEADER_BYTES:
        return f"{len(payload)} bytes; expected {HEADER_BYTES} at least"
    count = payload[0]
    if count > width:
        return f"{count} classes; the set stores {width} at most"
    smallest = np.frombuffer(payload[1:3], "<f2")[0]
    if not (np.isfinite(smallest) and smallest <= 0):
        return f"smallest value {smallest}; expected a finite value <= 0"
    low = low_bits(num_classes, width)
    bits = np.unpackbits(np.frombuffer(payload[HEADER_BYTES + count:],
                                       np.uint8), bitorder="little")
    ones = np.flatnonzero(bits[count * low:])[:count]
    if len(ones) < count:
        return f"{count} classes announced, fewer encoded (cut short?)"
    if count:
        lows = bits[:count * low].reshape(count, low) @ (1 << np.arange(low))
        ids = (ones - np.arange(count)) << low | lows
        if (ids[1:] <= ids[:-1]).any():
            return f"class ids {ids.tolist()}; expected them ascending"
        if ids[-1] >= num_classes:
            return f"an id beyond N={num_classes}"
    return None
