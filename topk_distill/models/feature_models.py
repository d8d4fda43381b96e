"""Models on feature vectors: float32 [B, D] in, [B, N] logits out."""

import keras


def make_features_model(num_classes, feature_dim, hidden_units=0,
                        dropout=0.3):
    """Builds a model on feature vectors: linear, or one hidden layer.

    The reference features student is linear (`hidden_units=0`); the
    reference features teacher has 512 hidden units (ReLU) and dropout.

    Args:
        num_classes: N.
        feature_dim: D.
        hidden_units: 0 for a linear model, else the hidden layer's width.
        dropout: after the hidden layer.

    Returns:
        An uncompiled `keras.Model` mapping float32[B, D] (input named
        `features`) to logits[B, N].

    Examples:
        >>> import numpy as np
        >>> make_features_model(3, feature_dim=4)(np.ones([2, 4])).shape
        TensorShape([2, 3])
    """
    features = keras.Input(shape=(feature_dim,), name="features")
    x = features
    if hidden_units:
        x = keras.layers.Dense(hidden_units, activation="relu")(x)
        x = keras.layers.Dropout(dropout)(x)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(features, logits, name="features_model")
