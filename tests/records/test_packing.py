"""The packed targets encoding: Elias-Fano ids and 8-bit log values."""

import numpy as np
import pytest
import tensorflow as tf

from topk_distill.records import packing


@pytest.mark.parametrize("num_classes, width", [
    (4123, 20), (100_000, 20), (3, 2), (4123, 1), (70_000, 50), (300, 255)])
def test_round_trip_of_rows_of_every_length(rng, num_classes, width):
    rows = 40
    ids = np.full((rows, width), -1)
    values = np.zeros((rows, width), np.float32)
    for row in range(rows):
        count = width if row % 3 == 0 else int(rng.integers(0, width + 1))
        ids[row, :count] = rng.choice(num_classes, count, replace=False)
        values[row, :count] = -rng.exponential(3, count)
    payload = packing.pack(ids, values, num_classes, width)
    got_ids, got_values = packing.unpack(tf.constant(payload.tolist()),
                                         num_classes, width)
    got_ids, got_values = got_ids.numpy(), got_values.numpy()
    for row in range(rows):
        valid = ids[row] >= 0
        count = valid.sum()
        order = np.argsort(ids[row][valid])
        np.testing.assert_array_equal(got_ids[row, :count],
                                      ids[row][valid][order])
        assert (got_ids[row, count:] == -1).all()
        assert (got_values[row, count:] == 0).all()
        want = values[row][valid][order]
        smallest = -want.min() if count else 0.0
        # 8 bits between a float16 minimum and 0.
        np.testing.assert_allclose(got_values[row, :count], want,
                                   atol=smallest / 510 + 1e-3 * smallest)
        assert packing.check(payload[row], num_classes, width) is None
    full = [len(p) for p, row in zip(payload, ids) if (row >= 0).all()]
    assert max(full) <= packing.max_bytes(num_classes, width)


def test_20_of_4123_ids_take_near_their_information_limit(rng):
    # log2 C(4123, 20) bits = 22.4 bytes at the least; Elias-Fano takes ~25.
    ids = np.stack([rng.choice(4123, 20, replace=False) for _ in range(200)])
    payload = packing.pack(ids, np.zeros(ids.shape), 4123, 20)
    id_bytes = np.mean([len(p) for p in payload]) - packing.HEADER_BYTES - 20
    assert 22.4 <= id_bytes <= 25


def test_check_names_what_is_wrong():
    good = packing.pack(np.array([[4, 1]]), np.array([[0.0, -1.0]]), 9, 2)[0]
    assert packing.check(good, 9, 2) is None
    assert "3 classes" in packing.check(bytes([3]) + good[1:], 9, 2)
    assert "beyond N=5" in packing.check(good, 5, 2)
    nan = good[:1] + np.array([np.nan], "<f2").tobytes() + good[3:]
    assert "finite" in packing.check(nan, 9, 2)
    assert "bytes" in packing.check(b"\x01", 9, 2)
    # A byte flip the fuzzer found: the unary high parts still count 5
    # classes, but the ids they spell with the low bits are out of order
    # (unpacked: 39, 44, 52, 48, 49; 52 is beyond N=50).
    flipped = b"\x05\x98\xd0n\xff\x13\x00.'\x11\xa8\x03"
    assert "expected them ascending" in packing.check(flipped, 50, 5)
