"""Gradients by nudging, for training small models the spreadsheet way.

``numerical_gradients(model, loss_fn, x, y)`` sets every trainable parameter's ``.grad`` to
the central difference (loss(p + eps) − loss(p − eps)) / 2eps, one parameter element at a
time — two forward passes per number in the model, where backprop needs one backward pass
for all of them. It reaches the same weights as backprop (to about eps²), only slower: the
point of the lesson. ``fit(..., gradients="numerical")`` uses it in place of
``loss.backward()``.
"""
import numpy

from ..autograd.grad_mode import no_grad
from ..errors import ArgumentError
from ..tensor import Tensor

MAX_PARAMETERS = 10_000      # 2 forward passes per parameter and step: beyond this, use backprop
EPS = {numpy.dtype("float64"): 1e-6, numpy.dtype("float32"): 1e-3,
       numpy.dtype("float16"): 1e-2}


def numerical_gradients(model, loss_fn, x, y, eps=None):
    """Accumulate central-difference gradients of ``loss_fn(model(x), y)`` into ``.grad``.

    ``eps``: the nudge (default by dtype: 1e-6 for float64, 1e-3 for float32). The model's
    buffers (BatchNorm running statistics) are left as they were; a model with active
    dropout is refused, because every forward pass would differ. Returns the number of
    forward passes it took.

    >>> import chainrule
    >>> model = chainrule.nn.Linear(1, 1).double()
    >>> x, y = chainrule.ones(4, 1, dtype="float64"), chainrule.zeros(4, 1, dtype="float64")
    >>> passes = numerical_gradients(model, chainrule.nn.MSELoss(), x, y)
    >>> numerical = [p.grad.item() for p in model.parameters()]
    >>> model.zero_grad(); chainrule.nn.MSELoss()(model(x), y).backward()
    >>> passes, all(abs(a - p.grad.item()) < 1e-8 for a, p in zip(numerical, model.parameters()))
    (4, True)
    """
    params = [p for p in model.parameters() if p.requires_grad]
    total = sum(p._data.size for p in params)
    if total > MAX_PARAMETERS:
        raise ArgumentError(f"numerical gradients: the model has {total:,} trainable numbers, "
                            f"so every step would take {2 * total:,} forward passes; they are "
                            f"for small models (at most {MAX_PARAMETERS:,}): use backprop")
    _refuse_dropout(model)
    buffers = [(b, b._data.copy()) for b in model.buffers()]
    passes = 0
    try:
        with no_grad():
            for p in params:
                nudge = float(eps) if eps is not None else EPS.get(p._data.dtype, 1e-6)
                gradient = numpy.empty(p.shape, dtype=numpy.float64)
                for index in numpy.ndindex(*p.shape):
                    original = p._data[index].copy()
                    p._data[index] = original + nudge
                    up = float(loss_fn(model(x), y)._data)
                    p._data[index] = original - nudge
                    down = float(loss_fn(model(x), y)._data)
                    p._data[index] = original
                    gradient[index] = (up - down) / (2 * nudge)
                    passes += 2
                _accumulate(p, gradient.astype(p._data.dtype))
    finally:
        for b, saved in buffers:
            b._data[...] = saved
    return passes


def _accumulate(p, gradient):
    if p.grad is None:
        p.grad = Tensor._make(gradient, None)
    else:
        p.grad = Tensor._make(p.grad._data + gradient, None)


def _refuse_dropout(model):
    for name, module in model.named_modules():
        rate = getattr(module, "p", None)
        if module.training and "Dropout" in type(module).__name__ and rate:
            raise ArgumentError(f"numerical gradients: {name or 'the model'} is "
                                f"{type(module).__name__}(p={rate}) in training mode, so each "
                                "nudged forward pass would drop different units; use p=0 or "
                                "backprop")
