"""Stage 7, serving: a trained classifier used: the top-n labels of
inputs (`classification`), and accuracy and speed on a labeled test set
(`evaluation`). Its files (SavedModel, TFLite) are `models`'."""
