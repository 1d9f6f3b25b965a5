"""Batch normalisation with batch statistics as one node: forward and backward are each a few
fused passes over the activations instead of a dozen recorded elementwise ops.

    y = (x - mean) / sqrt(var + eps) * weight + bias       (statistics over all axes but 1)

The first-order backward is the closed form (with xhat = (x - mean) / sqrt(var + eps), n
values per channel):

    gbias = sum(g),  gweight = sum(g * xhat),
    gx = weight / sqrt(var + eps) * (g - gbias / n - xhat * gweight / n)

computed on arrays. When the backward pass is itself recorded (``create_graph=True``), the
same formula is written with chainrule ops from the saved input instead, so second
derivatives are exact; both give the same values.

Channels are reduced on an (N, C, rest) view of x; outputs are contiguous, as PyTorch's.

Layer normalisation (statistics over the trailing axes of each row) is one node the same
way (``LayerNorm``), with the closed-form backward (xhat, n values per row, g' = g * weight):

    gx = rstd * (g' - mean(g') - xhat * mean(g' * xhat)),
    gweight = sum over rows of g * xhat,  gbias = sum over rows of g
"""
from .. import backend, backend_helpers
from ..autograd.function import Function
from ..autograd.grad_mode import state
from . import workspace

per_channel = backend_helpers.per_channel


def _rows(a):
    """a (N, C, ...) as an (N, C, rest) array: a view when a is contiguous, else a copy in
    workspace memory."""
    if not backend_helpers.is_c_contiguous(a):
        copy = workspace.empty(a.shape, a.dtype)
        copy[...] = a
        a = copy
    return backend_helpers.channel_rows(a)


def _channel_dot(a, b):
    """Per channel, the sum over axes 0 and 2 of a * b ((N, C, B) arrays), with no
    temporary array: one batched dot product per channel."""
    if a.shape[0] == 1:
        return backend.xp.reshape(backend.xp.matmul(a[0, ...][:, None, :], b[0, ...][:, :, None]),
                                  (-1,))
    return backend_helpers.einsum("acb,acb->c", a, b)


def _wanted(node, gx, gweight, gbias):
    """A normalisation node's gradients for its inputs (x, weight if given, bias if given),
    None for those that want none."""
    need = node.needs_input_grad
    result = [gx if need[0] else None]
    if node.has_weight:
        result.append(gweight if need[1] else None)
    if node.has_bias:
        result.append(gbias if need[-1] else None)
    return tuple(result) if len(result) > 1 else result[0]


def scale_shift(x, scale, shift):
    """``x * scale + shift`` with ``scale`` and ``shift`` (C,) taken per channel of x (N, C,
    ...): batch normalisation's inference formula. When nothing is recorded, two passes on
    arrays (``per_channel``: the same values, about twice as fast as NumPy's broadcast);
    else the two recorded ops.

    >>> import chainrule
    >>> x, scale = chainrule.ones(1, 2, 1, 1), chainrule.tensor([2.0, 3.0])
    >>> scale_shift(x, scale, chainrule.tensor([0.5, 0.0])).flatten().tolist()
    [2.5, 3.0]
    """
    data, dtype = x._data, x._data.dtype
    if (state.enabled and (x.requires_grad or scale.requires_grad or shift.requires_grad)) \
            or x.ndim < 3 or scale._data.dtype != dtype or shift._data.dtype != dtype \
            or not backend_helpers.is_c_contiguous(data):
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        return x * scale.reshape(shape) + shift.reshape(shape)
    xp = backend.xp
    rows = backend_helpers.channel_rows(data)
    y = per_channel(xp.multiply, rows, scale._data, out=workspace.empty(rows.shape, dtype))
    per_channel(xp.add, y, shift._data, out=y)
    return x._make(xp.reshape(y, data.shape), None)


class BatchNorm(Function):
    """Batch normalisation in training mode: normalise x with its own batch statistics, then
    scale by ``weight`` and shift by ``bias`` (each optional: ``affine`` says which are given).
    The batch mean and (biased) variance are left in ``batch_mean`` / ``batch_var``."""

    def __init__(self, eps, has_weight, has_bias):
        self.eps, self.has_weight, self.has_bias = eps, has_weight, has_bias

    def forward(self, x, *affine):
        xp = backend.xp
        weight = affine[0] if self.has_weight else None
        bias = affine[-1] if self.has_bias else None
        rows = _rows(x)
        count = rows.shape[0] * rows.shape[2]
        mean = backend_helpers.channel_sums(rows) / count
        centered = per_channel(xp.subtract, rows, mean,
                               out=workspace.empty(rows.shape, rows.dtype))
        var = _channel_dot(centered, centered) / count
        inv_std = 1.0 / xp.sqrt(var + self.eps)
        scale = inv_std if weight is None else weight * inv_std
        y = per_channel(xp.multiply, centered, scale, out=centered)
        if bias is not None:
            per_channel(xp.add, y, bias, out=y)
        self.batch_mean, self.batch_var = mean, var
        if True in self.needs_input_grad:
            self.save_for_backward(x, weight, mean, inv_std)
        self.count = count
        return backend.xp.reshape(y, x.shape)

    def backward(self, gy):
        x, weight, mean, inv_std = self.saved_tensors
        if state.enabled:                       # recording: the formula in chainrule ops
            grads = self._recorded_backward(gy, x, weight)
        else:
            grads = self._fused_backward(gy._data, x._data,
                                         None if weight is None else weight._data,
                                         mean._data, inv_std._data)
            grads = tuple(None if g is None else x._make(g, None) for g in grads)
        return _wanted(self, *grads)

    def _fused_backward(self, gy, x, weight, mean, inv_std):
        xp = backend.xp
        g, rows = _rows(gy), _rows(x)
        count = self.count
        centered = per_channel(xp.subtract, rows, mean,
                               out=workspace.empty(rows.shape, rows.dtype))
        gbias = backend_helpers.channel_sums(g)
        dot = _channel_dot(g, centered)                 # sum(g * (x - mean)) per channel
        gweight = dot * inv_std
        scale = inv_std if weight is None else weight * inv_std
        # gx = scale * g - centered * (scale * inv_std^2 * dot / n) - scale * gbias / n
        gx = per_channel(xp.multiply, g, scale, out=workspace.empty(rows.shape, rows.dtype))
        per_channel(xp.multiply, centered, -scale * inv_std * inv_std * dot / count,
                    out=centered)
        gx += centered
        per_channel(xp.add, gx, -scale * gbias / count, out=gx)
        return xp.reshape(gx, x.shape), gweight, gbias

    def _recorded_backward(self, gy, x, weight):
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        count = self.count
        mean = x.mean(dim=axes, keepdim=True)
        centered = x - mean
        inv_std = ((centered * centered).mean(dim=axes, keepdim=True) + self.eps).rsqrt()
        xhat = centered * inv_std
        gbias = gy.sum(dim=axes)
        gweight = (gy * xhat).sum(dim=axes)
        scale = inv_std if weight is None else weight.reshape(shape) * inv_std
        gx = scale * (gy - gbias.reshape(shape) * (1.0 / count)
                      - xhat * gweight.reshape(shape) * (1.0 / count))
        return gx, gweight, gbias


class LayerNorm(Function):
    """Layer normalisation as one node: x seen as (rows, n), n the product of its last
    ``axes`` sizes, each row normalised with its own mean and biased variance, then scaled
    by ``weight`` and shifted by ``bias`` (each optional, of the normalised shape): PyTorch's
    F.layer_norm, computed as its composition sum / n, x - mean, (var + eps) ** -0.5 would
    be. Forward keeps xhat and rstd for backward (PyTorch keeps x, mean and rstd)."""

    def __init__(self, axes, eps, has_weight, has_bias):
        self.axes, self.eps = axes, eps
        self.has_weight, self.has_bias = has_weight, has_bias

    def forward(self, x, *affine):
        xp = backend.xp
        weight = affine[0] if self.has_weight else None      # saved as given: recorded
        bias = xp.reshape(affine[-1], (-1,)) if self.has_bias else None   # backward needs it
        self.affine_shape = x.shape[x.ndim - self.axes:]
        count = 1
        for size in self.affine_shape:
            count *= size
        self.count = count
        rows = xp.reshape(x, (-1, count))
        mean = xp.sum(rows, axis=1, keepdims=True) * (1.0 / count)
        xhat = rows - mean
        var = xp.sum(xhat * xhat, axis=1, keepdims=True) * (1.0 / count)
        rstd = 1 / xp.sqrt(var + self.eps)
        xhat *= rstd
        if weight is not None:
            y = xhat * xp.reshape(weight, (-1,))
            if bias is not None:
                backend_helpers.into(y, xp.add, y, bias)
        else:                   # a new array: the output may change in place (as PyTorch's)
            y = xhat + bias if bias is not None else xp.asarray(xhat, copy=True)
        if True in self.needs_input_grad:
            self.save_for_backward(x, weight, xhat, rstd)
        return xp.reshape(y, x.shape)

    def backward(self, gy):
        x, weight, xhat, rstd = self.saved_tensors
        if state.enabled:                       # recording: the formula in chainrule ops
            grads = self._recorded_backward(gy, x, weight)
        else:
            grads = self._array_backward(gy._data, xhat._data, rstd._data,
                                         None if weight is None else weight._data)
            grads = tuple(None if g is None else x._make(g, None) for g in grads)
        return _wanted(self, *grads)

    def _array_backward(self, gy, xhat, rstd, weight):
        xp = backend.xp
        g = xp.reshape(gy, xhat.shape)
        gbias = xp.reshape(xp.sum(g, axis=0), self.affine_shape) if self.has_bias else None
        gweight = xp.reshape(xp.sum(g * xhat, axis=0), self.affine_shape) \
            if self.has_weight else None
        g_hat = g if weight is None else g * xp.reshape(weight, (-1,))
        inverse = 1.0 / self.count
        mean_g = xp.sum(g_hat, axis=1, keepdims=True) * inverse
        mean_gx = xp.sum(g_hat * xhat, axis=1, keepdims=True) * inverse
        gx = xhat * mean_gx
        backend_helpers.into(gx, xp.subtract, g_hat, gx)
        gx -= mean_g
        gx *= rstd
        return xp.reshape(gx, gy.shape), gweight, gbias

    def _recorded_backward(self, gy, x, weight):
        axes = tuple(range(x.ndim - self.axes, x.ndim))
        batch_axes = tuple(range(x.ndim - self.axes))
        inverse = 1.0 / self.count
        mean = x.sum(dim=axes, keepdim=True) * inverse
        centered = x - mean
        rstd = ((centered * centered).sum(dim=axes, keepdim=True) * inverse + self.eps) ** -0.5
        xhat = centered * rstd
        gbias = gy.sum(dim=batch_axes) if batch_axes else gy
        gweight = (gy * xhat).sum(dim=batch_axes) if batch_axes else gy * xhat
        g_hat = gy if weight is None else gy * weight.reshape(self.affine_shape)
        gx = rstd * (g_hat - g_hat.sum(dim=axes, keepdim=True) * inverse
                     - xhat * ((g_hat * xhat).sum(dim=axes, keepdim=True) * inverse))
        return gx, gweight, gbias
