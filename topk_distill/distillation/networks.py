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
        network = encoder_students.make_encoder_student(
            student.encoder, len(names), layers=student.student_layers,
            choice=student.layer_choice, labels=names,
            teacher_head=student.teacher_head)
        if not network.from_teacher_head:
            start_head(network, record_sets, len(names))
        return network
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
    shape = text_models.TextStudentConfig(
        architecture=student.architecture, max_tokens=student.max_tokens,
        embedding_dim=student.embedding_dim,
        train_embeddings=not student.freeze_embeddings,
        normalize=student.normalize, hidden_units=student.hidden_units,
        class_vectors=sampled is not None)
    network = text_models.make_student(
        None if embeddings else reader.texts(record_sets), len(names),
        shape, embeddings=embeddings)
    if student.init_class_vectors:
        text_models.start_class_vectors(
            network, [labels_file.label_words(n) for n in names])
    return network


# Epochs of the encoder student's head fitted first (`start_head`), as
# the teacher's own head is before its fine-tuning.
HEAD_EPOCHS = 10


def start_head(network, record_sets, num_classes, epochs=HEAD_EPOCHS,
               seed=0):
    """Fits an encoder student's head that has no teacher head to start
    from, on the frozen student's sentence embeddings of the records'
    texts: the labeled set's labels, else the unlabeled set's teacher top
    class (`cross_fitting.train_head`, Adam at 1e-2). A random head over
    many classes barely moves at a fine-tuning rate: on WordNet's 4,123
    classes the 2-layer student from the pretrained encoder reached val
    P@1 0.04 after 2 epochs without it (BENCHMARKS.md).

    Args:
        network: a `make_encoder_student` model; its `"head"` is set.
        record_sets: the `RecordSet`s it trains on, labeled first.
        num_classes: N.
        epochs, seed: the head's fit.
    """
    import keras
    import numpy as np

    from topk_distill.records import reader
    from topk_distill.teachers import cross_fitting, fine_tuning

    source = record_sets[0]
    space = source.label_space
    texts, labels = [], []
    for batch in reader.make_dataset(source, 1024, verify=False):
        texts += [t.decode() for t in batch["text"].numpy()]
        if source.kind == "unlabeled":  # the teacher's best class
            labels += batch["topk_ids"].numpy()[:, :1].tolist()
        else:  # each example's ids: [B] or [B, L] (-1 padding)
            ids = batch[space.batch_key].numpy().reshape(len(batch["text"]),
                                                         -1)
            labels += [[i for i in row if i >= 0] for row in ids.tolist()]
    embed = keras.Model(network.input, network.get_layer("embedding").output)
    vectors = fine_tuning.predict_by_length(embed, np.array(texts, object),
                                            verbose=0)
    targets = space.fit_targets(labels)
    head = cross_fitting.train_head(vectors, targets, num_classes,
                                    epochs=epochs, seed=seed)
    network.get_layer("head").set_weights(head.get_weights())


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
