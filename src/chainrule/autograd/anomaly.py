"""Anomaly mode: find the op that first produced a NaN or inf, forward or backward.

The checks run only inside :class:`detect_anomaly` (per thread), so normal runs pay nothing.
"""
import functools
import os
import sys

from .. import backend
from ..errors import AnomalyError
from .grad_mode import hints, state


class detect_anomaly:
    """Check every op's output and every backward gradient for NaN/inf.

    The first one found raises :class:`~chainrule.errors.AnomalyError` naming the op, its
    input shapes and value ranges, and the line of your code that created the node.
    Creation lines are captured only inside this mode, so normal runs pay nothing.

    >>> import chainrule
    >>> x = chainrule.tensor([0.0, 1.0], requires_grad=True)
    >>> with chainrule.autograd.detect_anomaly():
    ...     try:
    ...         chainrule.log(x)
    ...     except chainrule.AnomalyError as error:
    ...         print(str(error).split(":")[0])
    Log produced -inf in its forward output
    """

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def __enter__(self):
        self._previous = state.anomaly
        if self.check_nan:
            hints.anomaly_used = True
        state.anomaly = self.check_nan
        return self

    def __exit__(self, *exc):
        state.anomaly = self._previous
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)
        return wrapper


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def user_frame():
    """'file:line in function' of the innermost frame outside chainrule's own code."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = os.path.abspath(frame.f_code.co_filename)
        if not filename.startswith(_PACKAGE_DIR):
            return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
        frame = frame.f_back
    return "<unknown>"


def _bad_kind(array):
    xp = backend.xp
    if backend.kind(array.dtype) not in "fc":
        return None
    if xp.isnan(array).any():
        return "NaN"
    if xp.isposinf(array).any():
        return "inf"
    if xp.isneginf(array).any():
        return "-inf"
    return None


def _describe_inputs(inputs):
    parts = []
    for i, t in enumerate(inputs or ()):
        data = t._data
        if data.size and backend.kind(data.dtype) in "fiub":
            parts.append(f"input {i}: shape {t.shape}, range [{data.min():.4g}, {data.max():.4g}]")
        else:
            parts.append(f"input {i}: shape {t.shape}")
    return "; ".join(parts)


def check_forward(fn, inputs, out):
    kind = _bad_kind(out)
    if kind is not None:
        raise AnomalyError(f"{fn.op_name()} produced {kind} in its forward output: "
                           f"{_describe_inputs(inputs)}; created at {user_frame()}")


def check_backward(fn, gradient):
    kind = _bad_kind(gradient._data)
    if kind is not None:
        where = fn.created_at or "<created outside detect_anomaly>"
        raise AnomalyError(f"{fn.op_name()} produced {kind} in its backward gradient: "
                           f"{_describe_inputs(fn.inputs)}; the node was created at {where}")
