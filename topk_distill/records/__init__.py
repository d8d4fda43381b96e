"""Stage 4, records: the record set, its format and files. Its schema and
metadata (`records`, file names in `file_names`), the plan of a set before
any teacher runs (`record_plan`), one record <-> tensors (`codec`, 8-bit
packing in `packing`), shard files (`shards`), the one writer every set is
written through (`writing`), and reading a set as a `tf.data.Dataset`
(`reader`)."""
