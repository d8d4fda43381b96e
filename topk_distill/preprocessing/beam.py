"""`preprocess` as an Apache Beam pipeline, for inputs one machine cannot
get through.

The same records and metadata as `preprocessing.preprocess`, written by a
Beam pipeline so the teacher runs on as many workers as the runner gives
(Dataflow, Flink, Spark; the DirectRunner on one machine):

    ReadFromText -> parse and check each line -> BatchElements
    -> teacher, top-K, serialize (a DoFn loading the teacher once per worker)
    -> WriteToTFRecord (PREFIX-NNNNN-of-NNNNN.tfrecord[.gz])

Then the launching machine counts and checks the shards and writes
`PREFIX.meta.json`, last, as the local tool does. Beam's sink writes to
temporary files and names the shards only when the pipeline succeeds.

Records are the local tool's; their order within and across shards is
Beam's (training shuffles anyway). A multi-label teacher (a sigmoid one:
`teacher_outputs="sigmoid_logits"`, or a multi-label teacher's folder)
writes a multi-label set; its `max_labels` is counted by a Beam
distribution metric. Needs the `beam` extra:
`pip install topk-distill[beam]`.
"""

import dataclasses
import os

import apache_beam as beam
import tensorflow as tf

from topk_distill.inputs import errors, inputs, labels_file
from topk_distill.preprocessing import preprocessing, run_options, scoring
from topk_distill.records import (file_names, record_plan, records, shards,
                                  writing)
from topk_distill.teachers import teacher
from topk_distill.utils import configs

COUNTERS = "topk_distill"


def preprocess_with_beam(source, input_path, labels_path, output_prefix,
                         settings=None, options=None, pipeline_args=(),
                         **keywords):
    """Writes the teacher's top-K records for one input with Apache Beam.

    Args:
        source: the teacher: a `teachers.teacher.TeacherSource` (its path,
            what it outputs, its signature and output key), or its path
            alone: a `.keras` file or SavedModel folder every worker can
            read (e.g. on `gs://` for Dataflow). Precomputed `.npy` scores
            need the input's row order, which Beam does not keep: use the
            local tool for them.
        input_path: `.tsv` or `.jsonl` file(s), a glob Beam's `ReadFromText`
            accepts.
        labels_path: `None` takes the teacher's own `labels.txt`.
        output_prefix: as in `preprocessing.preprocess`.
        settings: as in `preprocessing.preprocess`.
        options: as in `preprocessing.preprocess`, but for `data_dir` and
            `resume`: Beam writes its shards only when the pipeline
            succeeds, and reads no `tfds:` input.
        pipeline_args: Beam pipeline options, e.g.
            `["--runner=DataflowRunner", "--project=p", "--region=r",
            "--temp_location=gs://b/tmp"]` (default: the DirectRunner).
        **keywords: instead of `settings` or `options`, their fields.

    Returns:
        The `RecordSet` written.

    Examples:

        ```python
        preprocess_with_beam("teacher", "train.tsv", None, "records/train",
                             pipeline_args=["--runner=DirectRunner"])
        ```
    """
    if not isinstance(source, teacher.TeacherSource):
        source = teacher.TeacherSource(source)
    if source.path.endswith(".npy") or input_path.startswith(
            inputs.TFDS_PREFIX) or os.path.isdir(input_path):
        raise ValueError("the Beam pipeline reads text .tsv/.jsonl files and "
                         "runs a model teacher (.keras or SavedModel); for "
                         ".npy scores, tfds: inputs or image folders use the "
                         "local tool (no --runner)")
    options = configs.config_from(run_options.PreprocessOptions, options,
                                  keywords)
    if options.resume or options.data_dir:
        raise ValueError("--resume and --data_dir are the local tool's; the "
                         "Beam pipeline writes its shards only when it "
                         "succeeds, and reads .tsv/.jsonl files")
    settings = record_plan.settings_of(settings, keywords)
    model = source.load()
    plan = preprocessing.plan_record_set(model, labels_path, input_path,
                                         settings)
    label_ids = record_plan.class_ids(plan)
    output = writing.RecordSetOutput(output_prefix, plan,
                                     overwrite=options.overwrite,
                                     command=options.command)
    result = _run_pipeline(source, plan, output, input_path, output_prefix,
                           label_ids, options.skip_unknown_labels,
                           options.batch_size, pipeline_args)
    # the most labels a record holds, now counted (multi-label sets keep it)
    plan = dataclasses.replace(plan, max_labels=plan.rules.max_labels(
        _most(result, "labels_per_example")))
    # Count and check the shards Beam wrote, then write the metadata, last.
    written = [records.Shard(os.path.basename(path), n) for path, (n, _) in
               sorted(shards.verify_shards(plan, files=tf.io.gfile.glob(
                   f"{output_prefix}-*-of-{plan.num_shards:05d}.tfrecord*")
               ).items())]
    return output.finish(
        written, num_examples=sum(s.examples for s in written),
        max_labels=plan.max_labels,
        skipped_unknown_labels=_counter(result, "skipped_unknown_labels"))


def _run_pipeline(source, plan, output, input_path, output_prefix, label_ids,
                  skip_unknown_labels, batch_size, pipeline_args):
    """Runs the pipeline: read -> parse -> batches -> the teacher ->
    shards; returns its result (its metrics). On any error
    nothing of the run is left: Beam names the shards only when the
    pipeline succeeds, and the plan and Beam's temporary folder go."""
    options = beam.options.pipeline_options.PipelineOptions(list(
        pipeline_args))
    try:
        with beam.Pipeline(options=options) as pipeline:
            _ = (pipeline
                 | "Read" >> beam.io.ReadFromText(
                     input_path, coder=beam.coders.BytesCoder())
                 | "Parse" >> beam.FlatMap(_parse, input_path, label_ids,
                                           skip_unknown_labels,
                                           plan.label_space)
                 | "Batch" >> beam.BatchElements(min_batch_size=1,
                                                 max_batch_size=batch_size)
                 | "Teacher" >> beam.ParDo(_ScoreBatch(source, plan))
                 | "Write" >> beam.io.WriteToTFRecord(
                     output_prefix, num_shards=plan.num_shards,
                     file_name_suffix=file_names.shard_suffix(
                         plan.compression),
                     shard_name_template="-SSSSS-of-NNNNN",
                     compression_type=_compression(plan.compression)))
    except Exception:
        output.abort()
        for temporary in tf.io.gfile.glob(os.path.join(
                os.path.dirname(output_prefix),
                f"beam-temp-{os.path.basename(output_prefix)}-*")):
            tf.io.gfile.rmtree(temporary)
        raise
    return pipeline.result


def _parse(line, path, label_ids, skip_unknown_labels, label_space):
    """One input line (bytes) -> `(text, tuple of label ids)` (their count
    a distribution metric), or nothing for a blank line or (with
    `skip_unknown_labels`) an unknown label."""
    try:  # read as bytes: a line that is not UTF-8 is named, not Beam's
        line = line.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.InputError(f"{path}: line {line[:40]!r} is not UTF-8; "
                                "expected UTF-8 text") from None
    if not line.strip():
        return
    where = f"line {line[:40]!r}"
    text, names = inputs.parse_line(line, path, where, label_space)
    if not isinstance(text, str):
        raise errors.InputError(f"{path}: {where}: a feature vector; the "
                                "Beam pipeline writes text records (use the "
                                "local tool, no --runner)")
    ids = labels_file.label_ids(names, label_ids, f"{path}: {where}",
                                skip_unknown_labels)
    if ids is None:
        beam.metrics.Metrics.counter(COUNTERS,
                                     "skipped_unknown_labels").inc()
        return
    beam.metrics.Metrics.distribution(
        COUNTERS, "labels_per_example").update(len(ids))
    yield text, ids


class _ScoreBatch(beam.DoFn):
    """A batch of `(text, label id)` -> its serialized top-K records."""

    def __init__(self, source, plan):
        self._source = source
        self._plan = plan

    def setup(self):
        model = self._source.load()
        self._score = tf.function(
            lambda texts, labels: scoring.score_batch(
                model, texts, labels, self._plan),
            input_signature=[tf.TensorSpec([None], tf.string),
                             tf.TensorSpec(
                                 self._plan.label_space.array_shape(),
                                 tf.int64)])

    def process(self, batch):
        texts = [text for text, _ in batch]
        # [B] or [B, the batch's most labels] (-1 pads)
        labels = self._plan.label_space.label_array([y for _, y in batch])
        serialized, _, finite = self._score(tf.constant(texts),
                                            tf.constant(labels))
        bad = [text for text, ok in zip(texts, finite.numpy()) if not ok]
        if bad:
            raise ValueError(f"the teacher returned NaN or Inf scores, or "
                             "probabilities outside [0, 1], for "
                             f"{bad[0][:40]!r}; expected finite numbers of "
                             "its --teacher_outputs kind")
        yield from serialized.numpy()


def _compression(name):
    kinds = beam.io.filesystem.CompressionTypes
    return kinds.GZIP if name == "gzip" else kinds.UNCOMPRESSED


def _most(result, name):
    """The largest value a distribution metric saw (0 if none); its
    attempted value where a runner does not commit metrics."""
    found = result.metrics().query(beam.metrics.MetricsFilter().with_name(
        name))["distributions"]
    seen = [d.committed or d.attempted for d in found]
    return max([value.max for value in seen if value and value.count] or
               [0])


def _counter(result, name):
    found = result.metrics().query(beam.metrics.MetricsFilter().with_name(
        name))["counters"]
    return sum(c.committed or 0 for c in found)
