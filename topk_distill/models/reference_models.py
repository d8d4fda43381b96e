"""The reference teacher and student for an input kind (`input_kinds`)."""

from topk_distill.models import feature_models, image_models, text_models


def reference_teacher(kind, examples, num_classes, feature_dim=None):
    """The reference teacher for an input kind (`input_kinds`):
    `text_models.make_teacher` fitted on `examples` (text),
    `image_models.make_image_teacher` or a features MLP."""
    if kind == "image":
        return image_models.make_image_teacher(num_classes)
    if kind == "features":
        return feature_models.make_features_model(num_classes, feature_dim,
                                                  hidden_units=512)
    return text_models.make_teacher(examples, num_classes)


def reference_student(kind, examples, num_classes, feature_dim=None,
                      **text_options):
    """The reference student for an input kind: `text_models.make_student`
    fitted on `examples` with `text_options` (text),
    `image_models.make_image_student` or a linear model on the features."""
    if kind == "image":
        return image_models.make_image_student(num_classes)
    if kind == "features":
        return feature_models.make_features_model(num_classes, feature_dim)
    return text_models.make_student(examples, num_classes, **text_options)
