"""Stage 1, inputs: TSV, JSONL, image folders and TFDS read as
`(input, label)` pairs (`inputs`, `image_files`), their kind
(`input_kinds`), the label vocabulary (`labels_file`), bad input
(`errors`), and more texts for a bigger transfer set (`augmentation`)."""
