"""``torch.dropout``, ``torch.alpha_dropout``, ``torch.feature_dropout``,
``torch.feature_alpha_dropout`` and their in-place ``_`` forms: the top-level forms, whose
``p`` and ``train`` are required (``chainrule.nn.functional.dropout`` has defaults). The
masks come from chainrule's generator, as the functional forms' do.
"""
from ..errors import ShapeError
from .layer_functions import _dropout


def _feature_noise_shape(input, op):
    if input.ndim < 2:
        raise ShapeError(f"{op}: feature dropout requires at least 2 dimensions in the input, "
                         f"got shape {input.shape}")
    return input.shape[:2] + (1,) * (input.ndim - 2)


def dropout(input, p, train):
    """Inverted dropout (``torch.dropout``): zero each element with probability p and scale
    the rest by 1/(1-p) when ``train``.

    >>> import chainrule
    >>> chainrule.dropout(chainrule.ones(3), 0.5, False).tolist()
    [1.0, 1.0, 1.0]
    """
    return _dropout(input, p, train, False, None, "dropout", input.shape, False)


def dropout_(input, p, train):
    """In-place :func:`dropout`."""
    return _dropout(input, p, train, True, None, "dropout_", input.shape, False)


def alpha_dropout(input, p, train):
    """Alpha dropout (``torch.alpha_dropout``), for SELU networks.

    >>> import chainrule
    >>> chainrule.alpha_dropout(chainrule.ones(2), 0.5, False).tolist()
    [1.0, 1.0]
    """
    return _dropout(input, p, train, False, None, "alpha_dropout", input.shape, True)


def alpha_dropout_(input, p, train):
    """In-place :func:`alpha_dropout`."""
    return _dropout(input, p, train, True, None, "alpha_dropout_", input.shape, True)


def feature_dropout(input, p, train):
    """Dropout of whole channels (dimension 1): noise of shape (N, C, 1, ...).

    >>> import chainrule
    >>> chainrule.feature_dropout(chainrule.ones(1, 2, 3), 0.5, False).shape
    (1, 2, 3)
    """
    shape = _feature_noise_shape(input, "feature_dropout")
    return _dropout(input, p, train, False, None, "feature_dropout", shape, False)


def feature_dropout_(input, p, train):
    """In-place :func:`feature_dropout`."""
    shape = _feature_noise_shape(input, "feature_dropout_")
    return _dropout(input, p, train, True, None, "feature_dropout_", shape, False)


def feature_alpha_dropout(input, p, train):
    """Alpha dropout of whole channels.

    >>> import chainrule
    >>> chainrule.feature_alpha_dropout(chainrule.ones(1, 2, 3), 0.5, False).shape
    (1, 2, 3)
    """
    shape = _feature_noise_shape(input, "feature_alpha_dropout")
    return _dropout(input, p, train, False, None, "feature_alpha_dropout", shape, True)


def feature_alpha_dropout_(input, p, train):
    """In-place :func:`feature_alpha_dropout`."""
    shape = _feature_noise_shape(input, "feature_alpha_dropout_")
    return _dropout(input, p, train, True, None, "feature_alpha_dropout_", shape, True)


__all__ = ["dropout", "dropout_", "alpha_dropout", "alpha_dropout_", "feature_dropout",
           "feature_dropout_", "feature_alpha_dropout", "feature_alpha_dropout_"]
