"""Bad input from a careless or hostile user (issue 25): every case ends in
a non-zero exit and one line on stderr naming the flag, file or record at
fault, with nothing written."""

import json
import os

import pytest

from tests.commands.test_train import _sets
from tests.conftest import NAMES, encoder_folder, run_command
from topk_distill import cli
from topk_distill.inputs.label_space import MultiLabel


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """What the cases only read, made once: two record sets, a .keras
    teacher and its export (answering 2 labels)."""
    import keras

    from tests.conftest import TEXTS
    from topk_distill.models import saved_model, text_models

    folder = tmp_path_factory.mktemp("shared")
    labeled, unlabeled = _sets(folder)
    teacher = text_models.make_teacher(
        [text for texts in TEXTS.values() for text in texts],
        num_classes=len(TEXTS), hidden_units=8)
    path = str(folder / "teacher.keras")
    teacher.save(path)
    labels = folder / "labels.txt"  # beside the teacher: its own
    labels.write_text("".join(f"{name}\n" for name in NAMES))
    exported = saved_model.export_saved_model(
        keras.models.load_model(path), str(folder / "export"), NAMES,
        top_n=2)
    multi = saved_model.export_saved_model(
        keras.models.load_model(path), str(folder / "ml_export"), NAMES,
        top_n=2, label_space=MultiLabel(len(NAMES), 0.5))
    return {"lab": labeled, "unl": unlabeled, "keras_teacher": path,
            "labels": labels, "export": exported, "ml_export": multi}


# (command line with the placeholders test_bad_input_is_one_line... fills
# in; exit code; what the one line must contain).
CASES = {
    "unlabeled records as --labeled": (
        "train --labeled={unl} --output={out} --epochs=1", 1,
        "--labeled: {unl} holds unlabeled records; expected labeled ones"),
    "labeled records as --unlabeled": (
        "train --labeled={lab} --unlabeled={lab} --output={out} --epochs=1",
        1, "--unlabeled: {lab} holds labeled records; expected unlabeled"),
    "infinite temperature": (
        "train --labeled={lab} --output={out} --temperature=inf", 2,
        "--temperature=inf: expected a finite number"),
    "NaN temperature": (
        "train --labeled={lab} --output={out} --temperature=nan", 2,
        "--temperature=nan: expected a finite number"),
    "infinite learning rate": (
        "train --labeled={lab} --output={out} --learning_rate=inf", 2,
        "--learning_rate=inf: expected a finite number"),
    "NaN sampling temperature": (
        "preprocess --teacher={npz} --input={tsv} --output={out}/r "
        "--sampling_temperature=nan", 2,
        "--sampling_temperature=nan: expected a finite number"),
    "top_h past a top-K file's K, named as typed": (
        "preprocess --teacher={npz} --input={tsv} --labels={labels} "
        "--output={out}/r --unlabeled --top_h=50", 1,
        "--top_h=50, but {npz} holds 3 classes per row"),
    "top_h past N, named as typed": (
        "preprocess --teacher={keras_teacher} --input={tsv} "
        "--labels={labels} --output={out}/r --unlabeled --top_h=50", 1,
        "top_h=50; expected 1..N="),
    "train --output under a file": (
        "train --labeled={lab} --output={tsv}/student --epochs=1", 1,
        "--output={tsv}/student: {tsv} is a file; expected a folder"),
    "train --backup_dir that is a file": (
        "train --labeled={lab} --output={out} --backup_dir={tsv} --epochs=1",
        1, "--backup_dir={tsv}: {tsv} is a file; expected a folder"),
    "--labels that permute the teacher's own labels.txt": (
        "preprocess --teacher={keras_teacher} --input={tsv} --labels={rev} "
        "--output={out}/r", 1,
        "--labels={rev}:1: " + repr(NAMES[-1]) + ", but the teacher's own "
        "{labels} has " + repr(NAMES[0]) + " there"),
    "a TSV line with three columns": (
        "preprocess --teacher={npz} --input={cols} --labels={labels} "
        "--output={out}/r", 1,
        "{cols}:1: 3 tab-separated columns; expected 'text<TAB>label'"),
    "a JSONL line without a text": (
        "preprocess --teacher={npz} --input={jsonl} --labels={labels} "
        "--output={out}/r", 1,
        "{jsonl}:1: expected an object with a string \"text\" field"),
    "bytes that are not UTF-8": (
        "preprocess --teacher={npz} --input={binary} --labels={labels} "
        "--output={out}/r", 1, "{binary}:1: invalid UTF-8"),
    "a labels file naming a class twice": (
        "preprocess --teacher={npz} --input={tsv} --labels={twice} "
        "--output={out}/r", 1,
        "{twice}:2: duplicate class name 'animal' (first on line 1)"),
    "a labels file with a blank line": (
        "preprocess --teacher={npz} --input={tsv} --labels={blank} "
        "--output={out}/r", 1,
        "{blank}:2: blank line; expected one class name per line"),
    "a top-K file with more rows than the input": (
        "preprocess --teacher={npz} --input={short} --labels={labels} "
        "--output={out}/r --unlabeled --num_shards=1", 1,
        "--teacher={npz}: 4 rows for 1 examples in {short}; expected one "
        "row each"),
    "a top-K file that is not there": (
        "preprocess --teacher={out}/none.npz --input={tsv} --labels={labels} "
        "--output={out}/r", 1, "--teacher={out}/none.npz: expected an .npz "
        "with 'ids' and 'scores' arrays"),
    "more shards than examples": (
        "preprocess --teacher={npz} --input={tsv} --labels={labels} "
        "--output={out}/r --num_shards=5", 1,
        "num_shards=5, but num_examples=4; expected at most one shard"),
    "an unknown score dtype": (
        "preprocess --teacher={npz} --input={tsv} --labels={labels} "
        "--output={out}/r --score_dtype=float8", 2,
        "flag --score_dtype=float8: value should be one of"),
    "an unknown compression": (
        "preprocess --teacher={npz} --input={tsv} --labels={labels} "
        "--output={out}/r --compression=zip", 2,
        "flag --compression=zip: value should be one of <none|gzip>"),
    "a negative sample count": (
        "preprocess --teacher={npz} --input={tsv} --labels={labels} "
        "--output={out}/r --samples=-1", 2,
        "flag --samples=-1: -1 is not a positive integer"),
    "an unknown flag": (
        "preprocess --teacher={npz} --input={tsv} --output={out}/r "
        "--nonsense=1", 2, "Unknown command line flag 'nonsense'"),
    "a glob that matches no shard": (
        "train --labeled={out}/nothing-* --output={out}", 1,
        "{out}/nothing-*: no record shard matches"),
    "a TSV file given as records": (
        "train --labeled={tsv} --output={out}", 1,
        "{tsv}.meta.json: metadata file not found"),
    "zero epochs": (
        "train --labeled={lab} --output={out} --epochs=0", 2,
        "flag --epochs=0: expected a positive integer"),
    "a zero batch size": (
        "train --labeled={lab} --output={out} --batch_size=0", 2,
        "flag --batch_size=0: expected a positive integer"),
    "alpha out of range": (
        "train --labeled={lab} --output={out} --alpha=1.5", 1,
        "alpha=1.5; expected 0.5 < alpha < 1"),
    "an unknown student": (
        "train --labeled={lab} --output={out} --student=lstm", 2,
        "flag --student=lstm: value should be one of"),
    "classify a folder that is not an export": (
        "classify --model={full} x", 1, "{full}: not a SavedModel folder"),
    "evaluate a folder that is not an export": (
        "evaluate --model={full} --test={one_class}", 1,
        "--model={full}: not a SavedModel folder (no saved_model.pb in it)"),
    "export a labels file as a model": (
        "export --model={labels} --output={out}/e", 1,
        "--model={labels}: expected a .keras file, a SavedModel folder"),
    "student-init from an encoder that is not there": (
        "student-init --encoder={out}/enc --input={tsv} --output={out}/s.npz",
        1, "--encoder={out}/enc: not a folder"),
    "a teacher on an empty input": (
        "teacher --input={empty} --output={out}/t", 1, "{empty}: no examples"),
    "a teacher with zero epochs": (
        "teacher --input={one_class} --output={out}/t --epochs=0", 2,
        "flag --epochs=0: 0 is not a positive integer"),
    "the demo with zero epochs": (
        "demo --workdir={out} --epochs=0", 2,
        "flag --epochs=0: 0 is not a positive integer"),
    "a record set whose metadata is cut short": (
        "train --labeled={cut} --output={out} --epochs=1", 1,
        "not valid JSON"),
    "a teacher input with one class": (
        "teacher --input={one_class} --output={out}/t", 1,
        "{one_class}: only class 'animal'; a teacher needs examples of at "
        "least two classes"),
    "a .keras teacher that is not a zip archive": (
        "preprocess --teacher={not_zip} --input={tsv} --labels={labels} "
        "--output={out}/r", 1,
        "--teacher={not_zip}: not a .keras model (a .keras file is a zip "
        "archive; this one is not)"),
    "export --model that is not a .keras zip names --model": (
        "export --model={not_zip} --output={out}/e", 1,
        "--model={not_zip}: not a .keras model"),
    "export --model that does not exist names --model": (
        "export --model={out}/missing.keras --output={out}/e", 1,
        "--model={out}/missing.keras: no such file"),
    "export into a folder that holds something": (
        "export --model={keras_teacher} --output={full}", 1,
        "--output={full} is not empty; pass --overwrite"),
    "export onto a file": (
        "export --model={keras_teacher} --output={tsv}", 1,
        "--output={tsv} is a file; expected a folder"),
    "preprocess without --teacher": (
        "preprocess --input={labeled} --output={out}/r", 2,
        "flag --teacher=None: Flag --teacher must have a value"),
    "preprocess without --input": (
        "preprocess --teacher={npz} --output={out}/r", 2,
        "flag --input=None: Flag --input must have a value"),
    "preprocess without --output": (
        "preprocess --teacher={npz} --input={tsv} --labels={labels}", 2,
        "flag --output=None: Flag --output must have a value"),
    "top_k past N": (
        "preprocess --teacher={keras_teacher} --input={labeled} "
        "--output={out}/r --num_shards=1 --top_k=50", 1,
        "top_k=50; expected 1..N=3, or 0 for all N scores"),
    "zero shards": (
        "preprocess --teacher={keras_teacher} --input={labeled} "
        "--output={out}/r --num_shards=1 --top_k=2 --num_shards=0", 2,
        "flag --num_shards=0: 0 is not a positive integer"),
    "a zero preprocess batch": (
        "preprocess --teacher={keras_teacher} --input={labeled} "
        "--output={out}/r --num_shards=1 --top_k=2 --batch_size=0", 2,
        "flag --batch_size=0: 0 is not a positive integer"),
    "an unknown kind of target": (
        "preprocess --teacher={keras_teacher} --input={labeled} "
        "--output={out}/r --num_shards=1 --top_k=2 --targets=best", 2,
        "flag --targets=best: value should be one of <topk|sampled|mixed>"),
    "an unknown kind of score": (
        "preprocess --teacher={keras_teacher} --input={labeled} "
        "--output={out}/r --num_shards=1 --top_k=2 --scores=odds", 2,
        "flag --scores=odds: value should be one of <logits|probabilities>"),
    "an unknown kind of teacher output": (
        "preprocess --teacher={keras_teacher} --input={labeled} "
        "--output={out}/r --num_shards=1 --top_k=2 --teacher_outputs=odds", 2,
        "flag --teacher_outputs=odds: value should be one of"),
    "an input that is not there": (
        "preprocess --teacher={keras_teacher} --input={out}/none.tsv "
        "--output={out}/r", 1,
        "{out}/none.tsv: no such file or directory"),
    "a folder of non-images as input": (
        "preprocess --teacher={keras_teacher} --input={full} "
        "--output={out}/r", 1,
        "{full}/old.txt: not an image file"),
    "a labels file that is not there": (
        "preprocess --teacher={npz} --input={tsv} --labels={out}/none.txt "
        "--output={out}/r --num_shards=1", 1,
        "{out}/none.txt: no such file or directory"),
    "an empty labels file": (
        "preprocess --teacher={npz} --input={tsv} --labels={empty} "
        "--output={out}/r --num_shards=1", 1,
        "{empty}: no class names; expected one class name per line"),
    "a label not in the labels file": (
        "preprocess --teacher={keras_teacher} --input={unknown_label} "
        "--output={out}/r --num_shards=1 --top_k=2", 1,
        "{unknown_label}:2: label 'mineral' is not in the labels file (or "
        "pass --skip_unknown_labels)"),
    "an empty text": (
        "preprocess --teacher={keras_teacher} --input={empty_text} "
        "--output={out}/r --num_shards=1 --top_k=2", 1,
        "{empty_text}:2: empty text; expected a non-empty text column"),
    "a whitespace-only text": (
        "preprocess --teacher={keras_teacher} --input={space_text} "
        "--output={out}/r --num_shards=1 --top_k=2", 1,
        "{space_text}:2: empty text"),
    "a JSONL line that is not JSON": (
        "preprocess --teacher={keras_teacher} --input={bad_json} "
        "--output={out}/r --num_shards=1 --top_k=2", 1,
        "{bad_json}:2: not valid JSON"),
    "a JSONL line that is an array": (
        "preprocess --teacher={keras_teacher} --input={json_array} "
        "--output={out}/r --num_shards=1 --top_k=2", 1,
        "{json_array}:1: expected an object with a string \"text\" field"),
    "a JSONL label that is a number": (
        "preprocess --teacher={keras_teacher} --input={json_label} "
        "--output={out}/r --num_shards=1 --top_k=2", 1,
        "{json_label}:1: label '3' is not in the labels file"),
    "preprocess --output under a file": (
        "preprocess --teacher={keras_teacher} --input={labeled} "
        "--output={tsv}/r --num_shards=1 --top_k=2", 1,
        "--output={tsv}/r: cannot write there ({tsv} is not a directory)"),
    "a negative tail temperature": (
        "preprocess --teacher={keras_teacher} --input={labeled} "
        "--output={out}/r --num_shards=1 --top_k=2 --tail_temperature=-1", 1,
        "tail_temperature=-1.0; expected a positive temperature"),
    "a zero sampling temperature": (
        "preprocess --teacher={keras_teacher} --input={labeled} "
        "--output={out}/r --num_shards=1 --top_k=2 --targets=sampled "
        "--sampling_temperature=0", 2,
        "flag --sampling_temperature=0: 0.0 is not number >= 1e-06"),
    "zero samples": (
        "preprocess --teacher={keras_teacher} --input={labeled} "
        "--output={out}/r --num_shards=1 --top_k=2 --targets=sampled "
        "--samples=0", 2,
        "flag --samples=0: 0 is not a positive integer"),
    "a top-K file with an id past N": (
        "preprocess --teacher={npz_big_id} --input={tsv} --labels={labels} "
        "--output={out}/r --num_shards=1 --unlabeled", 1,
        "--teacher={npz_big_id}: row 0 ({tsv}:1) has a class id outside "
        "0..N-1=2 (9 at position 2); nothing of this run was kept"),
    "a top-K file with a negative id": (
        "preprocess --teacher={npz_negative_id} --input={tsv} "
        "--labels={labels} --output={out}/r --num_shards=1 --unlabeled", 1,
        "has a class id outside 0..N-1=2 (-2 at position 2)"),
    "a top-K file with NaN scores": (
        "preprocess --teacher={npz_nan} --input={tsv} --labels={labels} "
        "--output={out}/r --num_shards=1 --unlabeled", 1,
        "--teacher={npz_nan}: row 0 ({tsv}:1) has a score that is NaN or "
        "Inf"),
    "a top-K file with class ids that are not whole numbers": (
        "preprocess --teacher={npz_float_ids} --input={tsv} "
        "--labels={labels} --output={out}/r --num_shards=1 --unlabeled", 1,
        "--teacher={npz_float_ids}: row 0 ({tsv}:1) has a class id that is "
        "not a whole number (0.5 at position 0)"),
    "a top-K file of probabilities outside [0, 1]": (
        "preprocess --teacher={npz_negative} --input={tsv} "
        "--labels={labels} --output={out}/r --num_shards=1 --unlabeled "
        "--teacher_outputs=probabilities", 1,
        "--teacher={npz_negative}: row 0 ({tsv}:1) has a score outside [0, "
        "1] (probabilities), or NaN or Inf (-0.5 at position 0)"),
    "sigmoid probabilities that are logits, in a score file": (
        "preprocess --teacher={npy_logits} --input={tsv} --labels={labels} "
        "--output={out}/r --teacher_outputs=sigmoid_probabilities", 1,
        "--teacher={npy_logits}: row 0 has a score outside [0, 1] "
        "(probabilities), or NaN or Inf (-6 for class 0); expected "
        "--teacher_outputs=probabilities scores"),
    "a top-K file of scores beyond float32": (
        "preprocess --teacher={npz_huge} --input={tsv} --labels={labels} "
        "--output={out}/r --num_shards=1 --unlabeled", 1,
        "--teacher={npz_huge}: row 0 ({tsv}:1) has a score that is NaN or "
        "Inf (1e+300 at position 0)"),
    "metadata with a class count that is a string": (
        "train --labeled={text_classes} --output={out} --epochs=1", 1,
        "num_classes='3'; expected an integer >= 1"),
    "metadata with half an example": (
        "train --labeled={half_examples} --output={out} --epochs=1", 1,
        "num_examples=5.5; expected an integer >= 0"),
    "metadata with a negative shard count": (
        "train --labeled={negative_shard} --output={out} --epochs=1", 1,
        "shards[0].examples=-6; expected an integer >= 0"),
    "a labels file whose name ends in a space": (
        "preprocess --teacher={npz} --input={tsv} --labels={spaced_labels} "
        "--output={out}/r --num_shards=1 --unlabeled", 1,
        "{spaced_labels}:3: class name '" + NAMES[2] + " ' has spaces at an "
        "end"),
    "softmax outputs asked of a multi-label teacher": (
        "preprocess --teacher={ml_export} --input={tsv} --output={out}/r "
        "--unlabeled --teacher_outputs=logits", 1,
        "--teacher_outputs=logits, but --teacher={ml_export} is multi-label "
        "(per-class sigmoid scores)"),
    "a preprocess --output that is a folder": (
        "preprocess --teacher={npz} --input={tsv} --labels={labels} "
        "--output={out}/ --num_shards=1 --unlabeled", 1,
        "--output={out}/: a folder; expected a record set's prefix, e.g. "
        "{out}/train"),
    "a multi-label export whose threshold is NaN": (
        "evaluate --model={bad_threshold} --test={labeled}", 1,
        "{bad_threshold}/assets/multi_label.json: threshold nan; expected a "
        "number in (0, 1)"),
    "init vectors of none of the records' words": (
        "train --labeled={lab} --output={out} --init_embeddings={init_other}",
        1, "--init_embeddings={init_other}: none of its 4 words is a word "
        "of the records' texts"),
    "init vectors with a NaN": (
        "train --labeled={lab} --output={out} --init_embeddings={init_nan}",
        1, "{init_nan}: the vector of word 'text' (row 2) holds NaN or Inf"),
    "init vectors with a word twice": (
        "train --labeled={lab} --output={out} --init_embeddings={init_twice}",
        1, "{init_twice}: word 'text' twice (rows 2 and 3)"),
    "init vectors of objects": (
        "train --labeled={lab} --output={out} "
        "--init_embeddings={init_objects}", 1,
        "{init_objects}: not a student-init file (holds an array of "
        "objects"),
    "a width asked of init vectors": (
        "train --labeled={lab} --output={out} --init_embeddings={init_nan} "
        "--embedding_dim=16", 1,
        "--embedding_dim=16: the width of learnt word vectors; "
        "--init_embeddings's vectors set the width"),
    "label-frequency draws without a sampled softmax": (
        "train --labeled={lab} --output={out} --sampled_proposal=labels", 1,
        "--sampled_proposal=labels draws a sampled softmax's classes, but "
        "this run trains on all N=3"),
    "labeled and unlabeled records of other class lists": (
        "train --labeled={lab} --unlabeled={unl_four} --output={out} "
        "--epochs=1", 1,
        "(unlabeled, N=4) and {lab_name} (labeled, N=3) were made with "
        "different labels files"),
    "a logits teacher read as probabilities": (
        "preprocess --teacher={logits_teacher} --input={tsv} "
        "--labels={labels} --output={out}/r --unlabeled "
        "--teacher_outputs=probabilities --num_shards=1", 1,
        "the teacher returned NaN or Inf scores, or probabilities outside "
        "[0, 1], for the example at {tsv}:1"),
    "a top-K file without scores": (
        "preprocess --teacher={npz_no_scores} --input={tsv} "
        "--labels={labels} --output={out}/r --num_shards=1 --unlabeled", 1,
        "--teacher={npz_no_scores}: expected an .npz with 'ids' and "
        "'scores' arrays"),
    "a top-K file whose ids and scores differ in shape": (
        "preprocess --teacher={npz_shapes} --input={tsv} --labels={labels} "
        "--output={out}/r --num_shards=1 --unlabeled", 1,
        "--teacher={npz_shapes}: ids (4, 3) and scores (4, 2); expected "
        "the same [examples, K]"),
    "a labels file given as the teacher": (
        "preprocess --teacher={labels} --input={labeled} --output={out}/r "
        "--num_shards=1 --top_k=2", 1,
        "--teacher={labels}: expected a .keras file, a SavedModel folder"),
    "--labels with fewer classes than the teacher's": (
        "preprocess --teacher={keras_teacher} --input={labeled} "
        "--output={out}/r --num_shards=1 --top_k=2 --labels={few}", 1,
        "--labels={few} names 2 classes, but the teacher's own"),
    "a top-K file without --labels": (
        "preprocess --teacher={npz} --input={tsv} --output={out}/r "
        "--num_shards=1 --unlabeled", 1,
        "--teacher={npz} needs --labels"),
    "train without --output": (
        "train --labeled={lab}", 2,
        "flag --output=None: Flag --output must have a value"),
    "train without records": (
        "train --output={out}", 1,
        "--labeled or --unlabeled is required"),
    "a negative beta": (
        "train --labeled={lab} --output={out} --beta=-0.1", 1,
        "beta=-0.1; expected 0 <= beta <= alpha=0.9"),
    "beta above alpha": (
        "train --labeled={lab} --output={out} --alpha=0.8 --beta=0.9", 1,
        "beta=0.9; expected 0 <= beta <= alpha=0.8"),
    "alpha at its open bound": (
        "train --labeled={lab} --output={out} --alpha=0.5", 1,
        "alpha=0.5; expected 0.5 < alpha < 1"),
    "a zero temperature": (
        "train --labeled={lab} --output={out} --temperature=0", 2,
        "flag --temperature=0: 0.0 is not number >= 1e-06"),
    "fewer than no unlabeled examples per labeled one": (
        "train --labeled={lab} --unlabeled={unl} --output={out} "
        "--unlabeled_per_labeled=-1", 2,
        "flag --unlabeled_per_labeled=-1.0: expected a number >= 0 (0: "
        "labeled examples only)"),
    "a negative plateau window": (
        "train --labeled={lab} --output={out} --plateau_seconds=-5", 2,
        "flag --plateau_seconds=-5.0: expected a positive number of seconds"),
    "a NaN plateau delta": (
        "train --labeled={lab} --output={out} --plateau_seconds=10 "
        "--plateau_delta=nan", 2,
        "flag --plateau_delta=nan: expected a number >= 0"),
    "a target accuracy above 1": (
        "train --labeled={lab} --output={out} --target_accuracy=1.5 "
        "--validation={labeled}", 2,
        "flag --target_accuracy=1.5: expected a number in (0, 1]"),
    "a target accuracy without --validation": (
        "train --labeled={lab} --output={out} --target_accuracy=0.5", 1,
        "--target_accuracy needs --validation"),
    "init embeddings that are not there": (
        "train --labeled={lab} --output={out} "
        "--init_embeddings={out}/none.npz", 1,
        "{out}/none.npz: no such file"),
    "a TSV as init embeddings": (
        "train --labeled={lab} --output={out} --init_embeddings={tsv}", 1,
        "{tsv}: not a student-init file (not an .npz archive"),
    "a top-K file as init embeddings": (
        "train --labeled={lab} --output={out} --init_embeddings={npz}", 1,
        "{npz}: not a student-init file (no 'vocabulary' array"),
    "a validation file that is not there": (
        "train --labeled={lab} --output={out} --validation={out}/none.tsv", 1,
        "{out}/none.tsv: no such file or directory"),
    "a validation label not in the labels": (
        "train --labeled={lab} --output={out} --validation={unknown_label}", 1,
        "{unknown_label}:2: label 'mineral' is not in the labels file"),
    "an empty validation file": (
        "train --labeled={lab} --output={out} --validation={empty}", 1,
        "{empty}: no examples"),
    "a zero embedding width": (
        "train --labeled={lab} --output={out} --embedding_dim=0", 2,
        "flag --embedding_dim=0: expected a positive integer"),
    "a vocabulary of none": (
        "train --labeled={lab} --output={out} --max_tokens=0", 2,
        "flag --max_tokens=0: expected an integer >= 2"),
    "train --labels that is not there": (
        "train --labeled={lab} --output={out} --labels={out}/none.txt", 1,
        "{out}/none.txt: no such file or directory"),
    "train --labels other than the records'": (
        "train --labeled={lab} --output={out} --labels={rev}", 1,
        "records were made with another labels file than --labels={rev}"),
    "a record set whose shard is deleted": (
        "train --labeled={missing_shard} --output={out}", 1,
        "lab-00000-of-00001.tfrecord: missing;"),
    "a record set of a future format": (
        "train --labeled={future} --output={out}", 1,
        "format_version 99; this reader reads versions"),
    "an unknown soft scaling": (
        "train --labeled={lab} --output={out} --soft_scaling=odd", 2,
        "flag --soft_scaling=odd: value should be one of"),
    "an unknown tail": (
        "train --labeled={lab} --output={out} --tail=odd", 2,
        "flag --tail=odd: value should be one of"),
    "an unknown baseline": (
        "train --labeled={lab} --output={out} --baseline=soft", 2,
        "flag --baseline=soft: value should be one of <none|hard>"),
    "frozen vectors with nothing to start from": (
        "train --labeled={lab} --output={out} --freeze_embeddings", 1,
        "--freeze_embeddings needs --init_embeddings"),
    "a zero learning rate": (
        "train --labeled={lab} --output={out} --learning_rate=0", 2,
        "flag --learning_rate=0.0: expected a positive number"),
    "export without --model": (
        "export --output={out}/e", 2,
        "flag --model=None: Flag --model must have a value"),
    "export without --output": (
        "export --model={keras_teacher}", 2,
        "flag --output=None: Flag --output must have a value"),
    "export answering no labels": (
        "export --model={keras_teacher} --output={out}/e --top_n=0", 2,
        "flag --top_n=0: 0 is not a positive integer"),
    "export --labels with another class count": (
        "export --model={keras_teacher} --output={out}/e --labels={few}", 1,
        "returns 3 scores but {few} names 2 classes"),
    "export --labels that is empty": (
        "export --model={keras_teacher} --output={out}/e --labels={empty}", 1,
        "{empty}: no class names"),
    "classify with a missing model folder": (
        "classify --model={out}/none x", 1,
        "{out}/none: not a SavedModel folder (no saved_model.pb in it)"),
    "classify a file as the model": (
        "classify --model={tsv} x", 1,
        "{tsv}: not a SavedModel folder"),
    "classify asking for no labels": (
        "classify --model={export} --top_n=0 x", 2,
        "flag --top_n=0: 0 is not a positive integer"),
    "classify more labels than the export answers": (
        "classify --model={export} --top_n=3 x", 1,
        "top_n=3, but {export} answers 2 labels; export again with a "
        "larger --top_n"),
    "classify an --input that is not there": (
        "classify --model={export} --input={out}/none.txt", 1,
        "{out}/none.txt: no such file or directory"),
    "classify an empty --input": (
        "classify --model={export} --input={empty}", 1,
        "--input={empty}: no text in it; expected one text a line"),
    "classify nothing": (
        "classify --model={export}", 1,
        "no text to classify"),
    "classify a whitespace-only line": (
        "classify --model={export} --input={spaces}", 1,
        "{spaces}:1: empty text"),
    "classify in batches of none": (
        "classify --model={export} --batch_size=0 x", 2,
        "flag --batch_size=0: 0 is not a positive integer"),
    "classify in an unknown format": (
        "classify --model={export} --format=xml x", 2,
        "flag --format=xml: value should be one of <table|json>"),
    "evaluate a test file that is not there": (
        "evaluate --model={export} --test={out}/none.tsv", 1,
        "{out}/none.tsv: no such file or directory"),
    "evaluate a test label not in the labels": (
        "evaluate --model={export} --test={unknown_label}", 1,
        "{unknown_label}:2: label 'mineral' is not in the labels file"),
    "evaluate with too few latency calls": (
        "evaluate --model={export} --test={labeled} --latency_repeats=0", 2,
        "flag --latency_repeats=0: 0 is not integer >= 2"),
    "evaluate an empty test file": (
        "evaluate --model={export} --test={empty}", 1,
        "{empty}: no examples"),
    "evaluate an unlabeled test file": (
        "evaluate --model={export} --test={tsv}", 1,
        "{tsv}:1: no label; expected a labeled set"),
    "evaluate with too few --labels": (
        "evaluate --model={export} --test={labeled} --labels={few}", 1,
        "{labeled}:2: label 'food' is not in the labels file"),
    "teacher on an input that is not there": (
        "teacher --input={out}/none.tsv --output={out}/t", 1,
        "{out}/none.tsv: no such file or directory"),
    "teacher into a non-empty folder": (
        "teacher --input={labeled} --output={full}", 1,
        "--output={full} is not empty; pass --overwrite"),
    "teacher --output under a file": (
        "teacher --input={labeled} --output={tsv}/t", 1,
        "--output={tsv}/t: {tsv} is a file; expected a folder"),
    "a held-out fraction above its range": (
        "teacher --input={labeled} --output={out}/t "
        "--validation_fraction=1.5", 2,
        "flag --validation_fraction=1.5: 1.5 is not a number in the range"),
    "a NaN teacher learning rate": (
        "teacher --input={labeled} --output={out}/t --learning_rate=nan", 2,
        "flag --learning_rate=nan"),
    "fine-tuning without an encoder": (
        "teacher --input={labeled} --output={out}/t --fine_tune", 1,
        "fine-tuning needs an encoder (--encoder=DIR)"),
    "an encoder folder that is not there": (
        "teacher --input={labeled} --output={out}/t --encoder={out}/enc", 1,
        "--encoder={out}/enc: not a folder; expected an encoder checkpoint "
        "folder"),
    "an encoder folder without config.json": (
        "teacher --input={labeled} --output={out}/t --encoder={full}", 1,
        "--encoder={full}: no config.json in it"),
    "an encoder whose config.json names no model": (
        "teacher --input={labeled} --output={out}/t "
        "--encoder={no_model_type}", 1,
        "--encoder={no_model_type}: config.json names no model (no "
        "\"model_type\")"),
    "a Hugging Face teacher whose config.json names no model": (
        "preprocess --teacher={no_model_type} --input={tsv} --output={out}/r",
        1, "--teacher={no_model_type}: config.json names no model"),
    "a config.json that is not an object": (
        "student-init --encoder={config_list} --input={tsv} "
        "--output={out}/s.npz", 1,
        "--encoder={config_list}: config.json names no model"),
    "an encoder of another family": (
        "train --labeled={lab} --output={out} --student=encoder "
        "--encoder={not_bert}", 1,
        "--encoder={not_bert}: a gpt2 checkpoint; expected a BERT-family "
        "encoder"),
    "a vocab.txt shorter than the model's": (
        "teacher --input={labeled} --output={out}/t --encoder={short_vocab}",
        1, "--encoder={short_vocab}: vocab.txt holds 7 tokens for a model of "
        "vocab_size 30522"),
    "a Hugging Face teacher with a short vocab.txt": (
        "preprocess --teacher={short_vocab} --input={tsv} --output={out}/r",
        1, "--teacher={short_vocab}: vocab.txt holds 7 tokens"),
    "embeddings that are objects": (
        "teacher --input={labeled} --output={out}/t --encoder="
        + encoder_folder() + " --embeddings={npy_objects}", 1,
        "--embeddings={npy_objects}: not a numeric .npy array"),
    "embeddings with a NaN": (
        "teacher --input={labeled} --output={out}/t --encoder="
        + encoder_folder() + " --embeddings={npy_nan_rows}", 1,
        "--embeddings={npy_nan_rows}: row 2 holds NaN or Inf; expected "
        "finite vectors"),
    "embeddings without an encoder": (
        "teacher --input={labeled} --output={out}/t --embeddings={npz}", 1,
        "--embeddings={npz} needs --encoder=DIR"),
    "cross-fitting without an encoder": (
        "teacher --input={labeled} --output={out}/t --cross_fit_folds=3", 1,
        "--cross_fit_folds=3 needs --encoder=DIR"),
    "a warmup past all the steps": (
        "teacher --input={labeled} --output={out}/t --warmup_fraction=2", 2,
        "flag --warmup_fraction=2: 2.0 is not a number in the range [0.0, "
        "1.0]"),
    "one cross-fitting fold": (
        "teacher --input={labeled} --output={out}/t --cross_fit_folds=1", 2,
        "--cross_fit_folds needs at least 2 folds"),
    "a teacher on an unlabeled file": (
        "teacher --input={tsv} --output={out}/t", 1,
        "{tsv}:1: no label; the label vocabulary is built from a labeled "
        "file"),
    "student-init from a folder without config.json": (
        "student-init --encoder={full} --input={tsv} --output={out}/s.npz", 1,
        "--encoder={full}: no config.json in it"),
    "student-init from an empty input": (
        "student-init --encoder=" + encoder_folder() + " --input={empty} "
        "--output={out}/s.npz", 1,
        "--input={empty}: no text in it; expected the texts whose words"),
    "student-init to zero dimensions": (
        "student-init --encoder={full} --input={tsv} --output={out}/s.npz "
        "--dim=0", 2,
        "flag --dim=0: 0 is not a positive integer"),
    "student-init by an unknown method": (
        "student-init --encoder={full} --input={tsv} --output={out}/s.npz "
        "--method=odd", 2,
        "flag --method=odd: value should be one of <context|words|tokenlearn>"),
    "the demo into a file": (
        "demo --workdir={tsv}", 1,
        "{tsv} is a file; expected a folder"),
    "the demo with a teacher export that is not there": (
        "demo --workdir={out} --teacher_export={out}/none", 1,
        "--teacher_export={out}/none: not a SavedModel folder"),
    "an unknown command": (
        "frobnicate", 2,
        "topk-distill: unknown command 'frobnicate'"),
}


def bad_inputs(tmp_path, shared, line):
    """The files and folders CASES' placeholders name: `shared`'s, and the
    rest made in `tmp_path`."""
    import numpy as np

    tsv = tmp_path / "in.tsv"
    tsv.write_text("".join(f"text {i}\n" for i in range(4)))
    arrays = {"npz": dict(ids=np.zeros((4, 3), np.int64) + [0, 1, 2],
                          scores=np.ones((4, 3), np.float32)),
              "npz_big_id": dict(ids=np.zeros((4, 3), np.int64) + [0, 1, 9],
                                 scores=np.ones((4, 3), np.float32)),
              "npz_negative_id": dict(
                  ids=np.zeros((4, 3), np.int64) + [0, 1, -2],
                  scores=np.ones((4, 3), np.float32)),
              "npz_nan": dict(ids=np.zeros((4, 3), np.int64) + [0, 1, 2],
                              scores=np.full((4, 3), np.nan, np.float32)),
              "npz_float_ids": dict(
                  ids=np.zeros((4, 3)) + [0.5, 1.5, 2.0],
                  scores=np.ones((4, 3), np.float32)),
              "npz_negative": dict(
                  ids=np.zeros((4, 3), np.int64) + [0, 1, 2],
                  scores=np.zeros((4, 3), np.float32) + [-0.5, 0.2, 0.1]),
              "npz_huge": dict(ids=np.zeros((4, 3), np.int64) + [0, 1, 2],
                               scores=np.zeros((4, 3)) + [1e300, 0, 0]),
              "npz_no_scores": dict(ids=np.zeros((4, 3), np.int64)),
              "npz_shapes": dict(ids=np.zeros((4, 3), np.int64) + [0, 1, 2],
                                 scores=np.ones((4, 2), np.float32))}
    for name, content in arrays.items():
        arrays[name] = str(tmp_path / f"{name}.npz")
        np.savez(arrays[name], **content)
    arrays["npy_objects"] = str(tmp_path / "objects.npy")
    np.save(arrays["npy_objects"], np.array([["a"]] * 4, object))
    arrays["npy_nan_rows"] = str(tmp_path / "nan_rows.npy")
    np.save(arrays["npy_nan_rows"], np.where(
        np.arange(4)[:, None] == 2, np.nan, np.ones((4, 3), np.float32)))
    inits = {"init_other": ["", "[UNK]", "zebra", "yak"],
             "init_nan": ["", "[UNK]", "text", "yak"],
             "init_twice": ["", "[UNK]", "text", "text"]}
    for name, words in inits.items():
        arrays[name] = str(tmp_path / f"{name}.npz")
        scales = np.ones(4, np.float32)
        if name == "init_nan":
            scales[2] = np.nan
        np.savez(arrays[name], vocabulary=np.array(words),
                 vectors=np.ones((4, 2), np.int8), scales=scales)
    arrays["init_objects"] = str(tmp_path / "init_objects.npz")
    np.savez(arrays["init_objects"], vocabulary=np.array([[1], "a"], object),
             vectors=np.ones((2, 2), np.int8), scales=np.ones(2))
    arrays["npy_logits"] = str(tmp_path / "logits.npy")
    np.save(arrays["npy_logits"], np.tile(np.float32([-6, 0, 6]), (4, 1)))
    out = tmp_path / "out"
    one_class = tmp_path / "one.tsv"
    one_class.write_text("".join(f"text {i}\tanimal\n" for i in range(4)))
    not_zip = tmp_path / "text.keras"
    not_zip.write_text("not a model\n")
    full = tmp_path / "full"
    full.mkdir()
    (full / "old.txt").write_text("kept\n")
    cut = _with_cut_metadata(tmp_path, shared["lab"])
    files = {"cols": b"text 1\tanimal\tmore\n", "jsonl": b'{"text": 3}\n',
             "binary": b"\xff\xfe\n", "twice": b"animal\nanimal\n",
             "blank": b"animal\n\nplant\n", "empty": b"",
             "short": b"text 1\n",
             "unknown_label": b"text 1\tanimal\ntext 2\tmineral\n",
             "empty_text": b"text 1\tanimal\n\tfood\n",
             "space_text": b"text 1\tanimal\n   \tfood\n",
             "bad_json": b'{"text": "a", "label": "animal"}\n{"text": \n',
             "json_array": b'["a cat", "animal"]\n',
             "json_label": b'{"text": "a cat", "label": 3}\n',
             "labeled": b"text 1\tanimal\ntext 2\tfood\ntext 3\tanimal\n"
                        b"text 4\tfood\n",
             "crlf_labels": "".join(f"{n}\r\n" for n in NAMES).encode(),
             "spaced_labels": "".join(f"{n}\n" for n in NAMES[:2]).encode()
             + f"{NAMES[2]} \n".encode(),
             "spaces": b"   \n"}
    suffix = {"jsonl": ".jsonl", "bad_json": ".jsonl", "json_array": ".jsonl",
              "json_label": ".jsonl", "twice": ".txt", "blank": ".txt",
              "spaced_labels": ".txt",
              "crlf_labels": ".txt"}
    for name, content in files.items():
        files[name] = tmp_path / (name + suffix.get(name, ".tsv"))
        files[name].write_bytes(content)
    odd = tmp_path / "in.xyz"
    odd.write_text("text 1\tanimal\n")
    rev = tmp_path / "rev.txt"
    rev.write_text("".join(f"{name}\n" for name in reversed(NAMES)))
    few = tmp_path / "few.txt"
    few.write_text("".join(f"{name}\n" for name in NAMES[:2]))
    # checkpoint folders that are not what their config.json says
    checkpoints = {
        "no_model_type": ({"architectures": [
            "BertForSequenceClassification"], "vocab_size": 3}, 3),
        "short_vocab": ({"model_type": "bert", "vocab_size": 30522}, 7),
        "not_bert": ({"model_type": "gpt2", "vocab_size": 3}, 3),
        "config_list": ([1, 2], 3)}
    for name, (config, tokens) in checkpoints.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps(config))
        (folder / "vocab.txt").write_text("".join(
            f"w{i}\n" for i in range(tokens)))
        (folder / "model.safetensors").write_bytes(b"")
        checkpoints[name] = folder
    if "{unl_four}" in line:  # unlabeled records of 4 classes
        from tests.conftest import write_record_set

        values_four = write_record_set(
            str(tmp_path / "four"), ["text 1"], [-1], [[3]], [[0.9]], 4,
            scores_kind="probabilities", names=NAMES + ["extra"])
    if "{logits_teacher}" in line:  # logits -10 and 10, whatever the text
        import keras

        from tests.conftest import TEXTS
        from topk_distill.models import text_models

        model = text_models.make_teacher(
            [text for texts in TEXTS.values() for text in texts], 3,
            hidden_units=8)
        layer = model.get_layer("logits")
        layer.kernel.assign(np.zeros(layer.kernel.shape, "float32"))
        layer.bias.assign(np.array([10.0, -10.0, 10.0], "float32"))
        model.save(str(tmp_path / "logits.keras"))
    if "{bad_threshold}" in line:  # a multi-label export, its file broken
        import shutil

        shutil.copytree(shared["ml_export"], tmp_path / "bad_threshold")
        (tmp_path / "bad_threshold" / "assets" / "multi_label.json"
         ).write_text('{"multi_label": true, "threshold": NaN}')
    from topk_distill.records import records

    values = dict(shared, out=out, tsv=tsv, one_class=one_class,
                  lab_name=records.resolve(shared["lab"]).name,
                  unl_four=values_four if "{unl_four}" in line else None,
                  bad_threshold=tmp_path / "bad_threshold", not_zip=not_zip,
                  logits_teacher=tmp_path / "logits.keras",
                  full=full, cut=cut, rev=rev, few=few, odd=odd, **arrays,
                  **files, **checkpoints)
    for name, make in (("missing_shard", _without_a_shard),
                       ("future", _from_the_future),
                       ("text_classes", _metadata_changed(
                           num_classes="3")),
                       ("half_examples", _metadata_changed(
                           num_examples=5.5)),
                       ("negative_shard", _metadata_changed(
                           shards=[{"file": None, "examples": -6}]))):
        if "{" + name + "}" in line:
            values[name] = make(tmp_path, shared["lab"])
    return values


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line_and_writes_nothing(case, tmp_path, shared,
                                                  capsys):
    line, code, expected = CASES[case]
    values = bad_inputs(tmp_path, shared, line)
    argv = ["topk-distill"] + line.format(**values).split()
    assert run_command(argv) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert expected.format(**values) in err[0], err
    if code == 1:
        assert len(err) == 1, err
    out, full = values["out"], values["full"]
    assert not out.exists() or not os.listdir(out)
    assert os.listdir(full) == ["old.txt"]
    assert values["tsv"].read_text() == "".join(f"text {i}\n"
                                                for i in range(4))


def _copy_set(tmp_path, pattern, name):
    """A copy of the record set `pattern` in tmp_path/name: (copy's prefix,
    its metadata's text)."""
    import glob
    import shutil

    from topk_distill.records import file_names

    prefix = pattern[:-len("-*")]
    copy = str(tmp_path / name / os.path.basename(prefix))
    os.makedirs(os.path.dirname(copy))
    for path in glob.glob(pattern):
        shutil.copy(path, copy + path[len(prefix):])
    with open(file_names.metadata_path(prefix), "rb") as f:
        return copy, f.read()


def _without_a_shard(tmp_path, pattern):
    """A copy of the record set `pattern` with its shard file deleted."""
    import glob

    from topk_distill.records import file_names

    copy, text = _copy_set(tmp_path, pattern, "missing")
    with open(file_names.metadata_path(copy), "wb") as f:
        f.write(text)
    for path in glob.glob(copy + "-*"):
        os.remove(path)
    return copy


def _from_the_future(tmp_path, pattern):
    """A copy of the record set `pattern` whose metadata says format 99."""
    import json

    from topk_distill.records import file_names

    copy, text = _copy_set(tmp_path, pattern, "future")
    meta = json.loads(text)
    meta["format_version"] = 99
    with open(file_names.metadata_path(copy), "w") as f:
        json.dump(meta, f)
    return copy + "-*"


def _metadata_changed(**change):
    """A maker of a copy of a record set whose metadata says `change`
    (a shard's "file": None keeps the shard's own name)."""
    def make(tmp_path, pattern):
        import json

        from topk_distill.records import file_names

        name = "changed_" + "_".join(change)
        copy, text = _copy_set(tmp_path, pattern, name)
        metadata = json.loads(text)
        for key, value in change.items():
            if key == "shards":
                value = [dict(s, file=s["file"] or old["file"])
                         for s, old in zip(value, metadata["shards"])]
            metadata[key] = value
        with open(file_names.metadata_path(copy), "w") as f:
            json.dump(metadata, f)
        return copy + "-*"
    return make


def _with_cut_metadata(tmp_path, pattern):
    """A copy of the record set `pattern` whose metadata is cut short."""
    from topk_distill.records import file_names

    copy, text = _copy_set(tmp_path, pattern, "cut")
    with open(file_names.metadata_path(copy), "wb") as f:
        f.write(text[:len(text) // 2])
    return copy + "-*"


def test_ctrl_c_is_one_line_and_exit_130(monkeypatch, capsys):
    command = cli.command_module("train")

    def interrupted(argv):
        raise KeyboardInterrupt

    monkeypatch.setattr(command, "main", interrupted)
    assert cli.main(["topk-distill", "train", "--labeled=x",
                     "--output=o"]) == 130
    assert capsys.readouterr().err.splitlines() == [
        "topk-distill train: interrupted; rerun the same command: its "
        "backup folder (default OUTPUT/backup) resumes it"]


def test_json_the_package_writes_refuses_nan(tmp_path):
    from topk_distill.utils import json_files

    path = str(tmp_path / "r.json")
    with pytest.raises(ValueError):
        json_files.write_json(path, {"temperature": float("inf")})
    assert not os.path.exists(path)
