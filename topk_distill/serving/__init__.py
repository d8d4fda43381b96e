"""Stage 7, serving: a trained classifier used: TFLite files for phones
(`tflite_export`), the top-n labels of inputs (`classification`), and
accuracy and speed on a labeled test set (`evaluation`)."""
