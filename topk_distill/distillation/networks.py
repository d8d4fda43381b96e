"""The student network a `StudentConfig` names, and how it steps: its
optimizer (Adam; the encoder student's AdamW with warmup and decay) and a
sampled softmax's proposal. What `training.train_student` builds."""

from topk_distill.inputs import labels_file


def make_network(student, record_sets, names, input_kind="text",
                 feature_dim=None, sampled=None):
    """The student network a `StudentConfig` names, for these records.

    Text records: `text_models.make_student` (its vocabulary from the
    records' texts, or the `student-init` file's vectors; class vectors
    from the names when asked), or the encoder student
    (`encoder_students.make_encoder_student`); image and feature records:
    their kind's reference student.

    Args:
        student: a `training_config.StudentConfig`.
        record_sets: the `RecordSet`s it trains on (their texts fit a
            learnt vocabulary).
        names: the N class names.
        input_kind, feature_dim: the records' inputs.
        sampled: the sampled softmax's negatives, or `None` (full).

    Returns:
        An uncompiled `keras.Model`: inputs [B] (or [B, D]) to logits
        [B, N].
    """
    from topk_distill.models import (encoder_students, reference_models,
                                     student_init, text_models)
    from topk_distill.records import reader

    if input_kind != "text":
        return reference_models.reference_student(input_kind, None,
                                                  len(names), feature_dim)
    if student.architecture == "encoder":
        return encoder_students.make_encoder_student(
            student.encoder, len(names), layers=student.student_layers,
            choice=student.layer_choice, labels=names,
            teacher_head=student.teacher_head)
    embeddings = (student_init.load(student.init_embeddings)
                  if student.init_embeddings else None)
    if embeddings is not None:
        sample = [t.decode() for t in next(iter(reader.texts(
            record_sets, batch_size=1000))).numpy()]
        if not student_init.share_known(embeddings[0], sample):
            raise ValueError(
                f"--init_embeddings={student.init_embeddings}: none of its "
                f"{len(embeddings[0]):,} words is a word of the records' "
                "texts (the first 1,000 read); expected vectors made from "
                "these texts (student-init --input=...)")
    network = text_models.make_student(
        None if embeddings else reader.texts(record_sets), len(names),
        max_tokens=student.max_tokens, embedding_dim=student.embedding_dim,
        architecture=student.architecture, embeddings=embeddings,
        train_embeddings=not student.freeze_embeddings,
        normalize=student.normalize, hidden_units=student.hidden_units,
        class_vectors=sampled is not None)
    if student.init_class_vectors:
        text_models.start_class_vectors(
            network, [labels_file.label_words(n) for n in names])
    return network


def optimizer(model, student, fit, train):
    """Adam (lazy for a sampled step) at the fit's rate; the encoder
    student's AdamW with warmup and decay over the fit's epochs."""
    if student.architecture != "encoder":
        return model.default_optimizer(fit.learning_rate)
    from topk_distill.models import encoder_students

    steps = int(train.cardinality())
    if steps <= 0:  # a filtered or served dataset: its count is not known
        raise ValueError("--student=encoder decays its rate over a known "
                         "number of steps; it cannot train with "
                         "--data_service or from unlabeled records alone "
                         "with --min_confidence")
    return encoder_students.fine_tuning_optimizer(fit.learning_rate,
                                                  steps * fit.epochs)


def proposal(student, sets, num_classes):
    """The sampled step's `Proposal` by label frequency, when asked for:
    the labeled set's labels, else the unlabeled set's pseudo labels."""
    if not student.sampled_classes or student.sampled_proposal != "labels":
        return None
    from topk_distill.distillation import sampled_softmax
    from topk_distill.records import reader

    labeled, unlabeled = sets
    return sampled_softmax.Proposal(reader.label_counts(
        labeled or unlabeled, num_classes))
