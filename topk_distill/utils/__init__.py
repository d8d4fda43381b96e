"""Floor 0, shared by every stage: where a command writes (`outputs`),
progress bars (`progress`), JSON files written whole (`json_files`), and
the metrics of ranked answers against true labels (`metrics`)."""
