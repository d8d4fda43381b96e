"""Fuzzes the record parser with random and mutated bytes.

Usage: python tests/fuzz_records.py [--cases=200000] [--seed=0]

Each case goes the way the reader takes a record:
`record_check.check_record` (Python's protobuf parser, and the set's
feature spec) first, then TensorFlow's `parse_example` (`codec.parse_batch`). It must be rejected by
the check (RecordFormatError) or parse into tensors of the declared shapes,
finite, ids below N; anything else, or a crash, is a bug. (Without the
check, TF's parse_example segfaults on some malformed messages: case 2825
of seed 0 is one; and it reads a short float16 payload padded with zeros.)
The test suite runs `fuzz(10_000)`; this script runs more.
"""

import argparse
import time

import numpy as np
import tensorflow as tf

from topk_distill.records import codec, record_check
from topk_distill.records.records import RecordFormatError, RecordSet

# Both encodings: format version 1's features and the packed "q8" one.
RECORD_SETS = [RecordSet(kind="labeled", num_classes=50, width=5,
                         score_dtype=dtype) for dtype in ("float16", "q8")]
_PARSE = [tf.function(lambda s, r=r: codec.parse_batch(s, r),
                      input_signature=[tf.TensorSpec([None], tf.string)])
          for r in RECORD_SETS]


def _valid(rng, count, record_set):
    ids = np.stack([rng.choice(50, 5, replace=False) for _ in range(count)])
    serialized, _ = codec.serialize_batch(
        tf.constant([bytes(rng.integers(0, 256, rng.integers(0, 40),
                                        dtype=np.uint8))
                     for _ in range(count)]),
        tf.constant(rng.integers(-1, 50, count), tf.int64),
        tf.constant(ids), tf.constant(rng.normal(0, 10, (count, 5)),
                                      tf.float32), record_set)
    return list(serialized.numpy())


KINDS = ("random", "truncation", "mutation")


def cases(rng, count, record_set):
    """Yields (kind, bytes): random bytes, truncations and byte flips of
    valid records, in turn."""
    valid = _valid(rng, 64, record_set)
    for i in range(count):
        kind = KINDS[i % 3]
        if kind == "random":
            yield kind, bytes(rng.integers(0, 256, rng.integers(0, 200),
                                           dtype=np.uint8))
            continue
        record = bytearray(valid[i % len(valid)])
        if kind == "truncation":
            yield kind, bytes(record[:rng.integers(0, len(record))])
            continue
        for _ in range(rng.integers(1, 4)):
            record[rng.integers(0, len(record))] = rng.integers(0, 256)
        yield kind, bytes(record)


def fuzz(count, seed=0):
    """Runs `count` cases; each is rejected by `record_check.check_record`
    or parses into the declared shapes (anything else raises).

    Returns:
        Counts: `{"parsed", "rejected", "parsed_mutations"}`.
    """
    rng = np.random.default_rng(seed)
    counts = {"parsed": 0, "rejected": 0, "parsed_mutations": 0}
    half = count // 2
    for i, (kind, case) in enumerate(
            [c for r in RECORD_SETS for c in cases(rng, half, r)]):
        record_set, parse = ((RECORD_SETS[0], _PARSE[0]) if i < half else
                             (RECORD_SETS[1], _PARSE[1]))
        try:
            record_check.check_record(case, record_set=record_set)
        except RecordFormatError:
            counts["rejected"] += 1
            continue
        # What the check accepts, the graph parses: no other error.
        batch = parse(tf.constant([case]))
        assert batch["topk_ids"].shape == (1, 5), case
        assert batch["topk_scores"].shape == (1, 5), case
        assert batch["topk_scores"].dtype == tf.float32
        ids = batch["topk_ids"].numpy()
        assert ids.max() < 50 and np.isfinite(batch["topk_scores"]).all()
        counts["parsed"] += 1
        counts["parsed_mutations"] += kind == "mutation"
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    counts = fuzz(args.cases, args.seed)
    print(f"{args.cases} cases in {time.perf_counter() - start:.0f} s: "
          f"{counts['parsed']} parsed, {counts['rejected']} rejected, no "
          "crash")


if __name__ == "__main__":
    main()
