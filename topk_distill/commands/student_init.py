r"""Start a student's word vectors from the teacher's encoder.

Each word of the student's vocabulary (fitted on --input, as train fits
it) gets the encoder's vector for it (the checkpoint folder `teacher
--encoder` takes): with --method=context (default) its output vectors
averaged over the word's uses in --input (each text through the encoder
once), with --method=words the word alone through it (Model2Vec's way,
faster), with --method=tokenlearn context's vectors then trained so that
the mean of a text's vectors reproduces the encoder's sentence embedding
of it (Model2Vec's Tokenlearn; the encoder runs over --input twice). PCA
reduces the vectors to --dim; with
--frequency_weighting each is weighted by SIF, a / (a + p(word)), as
Model2Vec does. Writes an .npz that `train --init_embeddings` starts the
student from (its vocabulary and width then come from the file). On 2
CPU cores: about 10 minutes for 46,000 short texts (context), a minute for
20,000 words (words). Needs the encoder extra.

Examples:
      topk-distill student-init --encoder=all-MiniLM-L6-v2/ \
        --input=train.tsv,unlabeled.txt --output=init.npz --dim=256
"""

from absl import flags

from topk_distill.models import student_init

FLAGS = flags.FlagValues()
flags.DEFINE_string("encoder", None, "Encoder checkpoint folder (a Hugging "
                    "Face BERT folder keras-hub loads).", flag_values=FLAGS)
flags.DEFINE_list("input", None, "Text files (.tsv text<TAB>label, .jsonl or tfds:NAME) "
                  "whose words make the student's vocabulary.",
                  flag_values=FLAGS)
flags.DEFINE_string("output", None, "The .npz to write.", flag_values=FLAGS)
flags.DEFINE_integer("dim", 256, "Student embedding width (PCA).",
                     lower_bound=1, flag_values=FLAGS)
flags.DEFINE_integer("max_tokens", 20000, "Student vocabulary size.",
                     lower_bound=3, flag_values=FLAGS)
flags.DEFINE_bool("frequency_weighting", False, "Weight vectors by SIF.",
                  flag_values=FLAGS)
flags.DEFINE_enum("method", "context", student_init.METHODS, "context: "
                  "each word's encoder vectors averaged over its uses in "
                  "--input; words: each word alone; tokenlearn: context's "
                  "vectors trained so that a text's mean reproduces the "
                  "encoder's sentence embedding of it (Model2Vec's "
                  "Tokenlearn).", flag_values=FLAGS)
flags.mark_flag_as_required("encoder", flag_values=FLAGS)
flags.mark_flag_as_required("input", flag_values=FLAGS)
flags.mark_flag_as_required("output", flag_values=FLAGS)


def main(argv):
    import os

    from topk_distill.inputs import inputs
    from topk_distill.models import encoder_models
    from topk_distill.utils import outputs

    del argv
    encoder_models.check_encoder_folder(FLAGS.encoder)
    outputs.check_writable(os.path.dirname(os.path.abspath(FLAGS.output)),
                           "--output")
    texts = []
    for path in FLAGS.input:
        found = [text for text, _ in inputs.iter_examples(path)]
        if not found:
            raise ValueError(f"--input={path}: no text in it; expected the "
                             "texts whose words the student reads")
        if not all(isinstance(text, str) for text in found):
            raise ValueError(f"--input={path}: holds images or feature "
                             "vectors; student-init reads texts")
        texts += found
    words, vectors = student_init.make_init(
        FLAGS.encoder, texts, dim=FLAGS.dim, max_tokens=FLAGS.max_tokens,
        frequency_weighting=FLAGS.frequency_weighting, method=FLAGS.method)
    student_init.save(FLAGS.output, words, vectors, encoder=FLAGS.encoder)
    print(f"wrote {FLAGS.output}: {len(words):,} words x {vectors.shape[1]} "
          f"({os.path.getsize(FLAGS.output) / 1e6:.1f} MB)")
