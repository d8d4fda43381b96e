"""Training on a cluster: the strategy `TF_CONFIG` asks for, and who writes.

`train` runs the same command on every machine of a cluster; each reads
`TF_CONFIG` and trains with `tf.distribute.MultiWorkerMirroredStrategy`.
Worker 0 (or the `chief` task) writes the output; the others only train.
"""

import json
import os
import socket


def cluster_config():
    """The cluster `TF_CONFIG` describes, or `None` on one machine.

    Raises:
        ValueError: `TF_CONFIG` is not JSON with a "cluster".
    """
    config = os.environ.get("TF_CONFIG")
    if not config:
        return None
    try:
        return json.loads(config)["cluster"]
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"TF_CONFIG={config!r}: expected JSON with "
                         "\"cluster\" and \"task\" (see docs/scale.md)"
                         ) from e


def strategy_from_environment():
    """MultiWorkerMirroredStrategy when `TF_CONFIG` names a cluster, else the
    default strategy.

    Call it before any other TensorFlow op runs, as
    MultiWorkerMirroredStrategy requires.

    Raises:
        ValueError: `TF_CONFIG` is not JSON with a "cluster".

    Examples:
        >>> strategy_from_environment().num_replicas_in_sync  # No TF_CONFIG.
        1
    """
    import tensorflow as tf

    if cluster_config() is None:
        return tf.distribute.get_strategy()
    return tf.distribute.MultiWorkerMirroredStrategy()


def worker_name(strategy):
    """Names a worker that is not the chief, e.g. `"worker-1"`.

    Returns:
        `None` on one machine or on the cluster's chief (worker 0 when the
        cluster has no "chief" task); else `"TYPE-INDEX"`.
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return None
    kind, index = resolver.task_type, resolver.task_id
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    if kind == "chief" or (kind == "worker" and index == 0 and not has_chief):
        return None
    return f"{kind}-{index}"


def num_workers(strategy):
    """How many machines train together (1 without a cluster)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None:
        return 1
    spec = resolver.cluster_spec().as_dict()
    return sum(len(spec[kind]) for kind in ("chief", "worker") if kind in spec)


def check_shards_per_worker(record_set, strategy):
    """Refuses a record set with fewer shards than workers.

    Each worker of a cluster reads whole shards (tf.data's file-based
    auto-sharding), so each needs one at least.

    Raises:
        ValueError: naming the set, its shard count and the workers.
    """
    workers = num_workers(strategy)
    if record_set.num_shards < workers:
        raise ValueError(
            f"{record_set.name}: "
            f"{record_set.num_shards} shard(s) for {workers} workers; each "
            "worker reads whole shards, so write at least as many shards as "
            "workers (`topk-distill preprocess --num_shards`)")


def is_multi_worker(strategy):
    """Whether `strategy` is a MultiWorkerMirroredStrategy over >1 worker."""
    import tensorflow as tf

    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and num_workers(strategy) > 1)


def loopback_configs(workers):
    """`TF_CONFIG` values for a cluster of `workers` processes on this
    machine (free loopback ports): to try a cluster, or test one, without
    other machines.

    Returns:
        A list of `workers` JSON strings, worker i's `TF_CONFIG` at index i,
        all naming the same ports.

    Examples:
        >>> import json
        >>> configs = loopback_configs(2)
        >>> [json.loads(c)["task"] for c in configs]
        [{'type': 'worker', 'index': 0}, {'type': 'worker', 'index': 1}]
        >>> json.loads(configs[0])["cluster"] == json.loads(configs[1])["cluster"]
        True
    """
    sockets = [socket.socket() for _ in range(workers)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    cluster = {"worker": [f"127.0.0.1:{s.getsockname()[1]}"
                          for s in sockets]}
    for s in sockets:
        s.close()
    return [json.dumps({"cluster": cluster,
                        "task": {"type": "worker", "index": index}})
            for index in range(workers)]
