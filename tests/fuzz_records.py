"""Fuzzes the record parser with random and mutated bytes.

Usage: python tests/fuzz_records.py [--cases=200000] [--seed=0]

Each case goes the way the reader takes a record: `records.check_record`
(Python's protobuf parser) first, then TensorFlow's `parse_example`
(`records.parse_batch`). It must parse into tensors of the declared shapes
or be rejected: RecordFormatError from the check, or
tf.errors.InvalidArgumentError (or UnicodeDecodeError, when TF quotes bad
bytes in its message) from TF; anything else, or a crash, is a bug.
(Without the check, TF's parse_example segfaults on some malformed
messages: case 2825 of seed 0 is one.) The test suite runs
`fuzz(10_000)`; this script runs more.
"""

import argparse
import time

import numpy as np
import tensorflow as tf

from topk_distill import records

METADATA = {"top_k": 5, "dense": False, "score_dtype": "float16",
            "tail_temperature": None}


@tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
def _parse(serialized):
    return records.parse_batch(serialized, METADATA)


def _valid(rng, count):
    serialized, _ = records.serialize_batch(
        tf.constant([bytes(rng.integers(0, 256, rng.integers(0, 40),
                                        dtype=np.uint8)) for _ in range(count)]),
        tf.constant(rng.integers(-1, 50, count), tf.int64),
        tf.constant(rng.integers(0, 50, (count, 5))),
        tf.constant(rng.normal(0, 10, (count, 5)), tf.float32))
    return list(serialized.numpy())


def cases(rng, count):
    """Random bytes, truncations and byte flips of valid records."""
    valid = _valid(rng, 64)
    for i in range(count):
        kind = i % 3
        if kind == 0:
            yield bytes(rng.integers(0, 256, rng.integers(0, 200),
                                     dtype=np.uint8))
        else:
            record = bytearray(valid[i % len(valid)])
            if kind == 1:
                yield bytes(record[:rng.integers(0, len(record))])
            else:
                for _ in range(rng.integers(1, 4)):
                    record[rng.integers(0, len(record))] = rng.integers(0, 256)
                yield bytes(record)


def fuzz(count, seed=0):
    """Runs `count` cases; returns (parsed, rejected) counts."""
    rng = np.random.default_rng(seed)
    parsed = rejected = 0
    for case in cases(rng, count):
        try:
            records.check_record(case)
            batch = _parse(tf.constant([case]))
        except (records.RecordFormatError, tf.errors.InvalidArgumentError,
                UnicodeDecodeError):
            rejected += 1
            continue
        assert batch["topk_ids"].shape == (1, 5)
        assert batch["topk_scores"].shape == (1, 5)
        assert batch["topk_scores"].dtype == tf.float32
        parsed += 1
    return parsed, rejected


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    parsed, rejected = fuzz(args.cases, args.seed)
    print(f"{args.cases} cases in {time.perf_counter() - start:.0f} s: "
          f"{parsed} parsed, {rejected} rejected, no crash")


if __name__ == "__main__":
    main()
