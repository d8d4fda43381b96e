"""Floor 0, shared by every stage: where a command writes (`outputs`),
progress bars (`progress`), JSON files written whole (`json_files`), the
principal components of row vectors (`pca`), configs given whole or as
keywords (`configs`), and the metrics of ranked answers against true
labels (`metrics`)."""
