"""Recurrent gates: one direction of an RNN, LSTM or GRU layer over a whole sequence as one
node (a scan), and the single-step cells' functional forms (compositions of other ops).

A scan is kept as a gate for speed and memory. Its caller projects every step's input at
once (``xproj = x @ W_ih.T + b_ih`` for all T steps, one matrix product); the scan runs the
recurrence, a loop over time, in array code, and records one node instead of a dozen per
step. It saves only its inputs and its output (every step's state): backward recomputes the
gates of all steps together (one more matrix product, no loop), then walks back in time with
the few per-step products the chain rule cannot batch. Memory is the steps' states and input
projections, linear in the length; nothing recurses.

The derivative is written once, on a small vocabulary (``_ARRAYS`` or ``_TENSORS``): a plain
backward runs it on arrays; a backward with ``create_graph=True`` runs the same code on
Tensors, so it is recorded and second derivatives come as for any other op.

``mask`` (T, B) marks the real steps of sequences of different lengths: a padded step keeps
the previous state, so a reversed scan starts each sequence at its own last step.

>>> import chainrule
>>> from chainrule.ops.recurrent import rnn_scan
>>> xproj, h0, w_hh = chainrule.zeros(5, 2, 3), chainrule.ones(2, 3), chainrule.zeros(3, 3)
>>> rnn_scan(xproj, h0, w_hh).shape                 # every step's state
(5, 2, 3)
"""

from .. import backend, backend_helpers
from ..autograd.function import Function
from ..autograd.grad_mode import state
from ..errors import ArgumentError, DTypeError, ShapeError
from ..tensor_base import TensorBase
from ._util import require_tensor
from .activation import relu, sigmoid, tanh
from .linalg import linear
from .shape import concatenate, stack


# ---------------------------------------------------------------- the derivative's vocabulary

class _ArrayMath:
    """What the derivative code calls, on backend arrays (a backward that records nothing)."""

    @staticmethod
    def sigmoid(x):
        return _sigmoid_in_place(backend_helpers.contiguous_copy(x))

    @staticmethod
    def tanh(x):
        return backend.xp.tanh(x)

    @staticmethod
    def cat(items, axis):
        return backend.xp.concat(items, axis=axis)

    @staticmethod
    def stack(items):
        return backend.xp.stack(items)

    @staticmethod
    def const(array, like):
        return array


class _TensorMath:
    """The same, on Tensors: with create_graph=True the derivative is itself recorded."""

    sigmoid, tanh = staticmethod(sigmoid), staticmethod(tanh)

    @staticmethod
    def cat(items, axis):
        return concatenate(items, axis)

    @staticmethod
    def stack(items):
        return stack(items)

    @staticmethod
    def const(array, like):
        return like._make(array, None)


_ARRAYS, _TENSORS = _ArrayMath(), _TensorMath()


def _reshape(x, shape):
    """``x.reshape(shape)`` for a tensor or an array of any backend."""
    if isinstance(x, TensorBase):
        return x.reshape(shape)
    return backend.namespace_of(x).reshape(x, shape)


def _rows(x):
    """(T, B, n) -> (T * B, n), for the weight gradients summed over every step at once."""
    return _reshape(x, (-1, x.shape[-1]))


def _column_sums(x):
    """The sum over axis 0 of a tensor or an array."""
    if isinstance(x, TensorBase):
        return x.sum(dim=0)
    return backend.namespace_of(x).sum(x, axis=0)


def _sigmoid_in_place(x):
    """sigmoid(x) = tanh(x / 2) / 2 + 1/2, written over x: finite everywhere, and fewer
    passes over memory than 1 / (1 + e^-x) made safe for large |x|."""
    x *= 0.5
    backend_helpers.into(x, backend.xp.tanh, x)
    x *= 0.5
    x += 0.5
    return x


def _times_all(x, matrix):
    """(T, B, n) @ (n, m) for every step as one 2-D product (NumPy's stacked matmul is
    several times slower than the same product on the rows)."""
    return _reshape(_rows(x) @ matrix, x.shape[:-1] + matrix.shape[-1:])


# ---------------------------------------------------------------- the scans

class _Scan(Function):
    """What the three scans share: the direction, the mask and the backward's dispatch."""

    def __init__(self, reverse=False, mask=None):
        self.reverse = reverse
        self.mask = mask            # (T, B) bool, or None when every step is real

    def _steps(self, length):
        return range(length - 1, -1, -1) if self.reverse else range(length)

    def _keep(self, t, new, old):
        """The state after step t: the new one where the step is real, the old one where the
        sequence has ended (or, reversed, not begun)."""
        if self.mask is None:
            return new
        return backend.xp.where(self.mask[t, ...][:, None], new, old)

    def _previous(self, M, first, states):
        """Every step's previous state, in time order: the initial state, then the states
        before it in the scan's direction."""
        if self.reverse:
            return M.cat([states[1:, ...], first[None, ...]], 0)
        return M.cat([first[None, ...], states[:-1, ...]], 0)

    def _keep_factor(self, M, like):
        """1 on real steps, 0 on padded ones, as (T, B, 1); None without a mask."""
        if self.mask is None:
            return None
        mask = self.mask[..., None]
        return M.const(backend.namespace_of(mask).astype(mask, like.dtype), like)

    def backward(self, gy):
        saved = self.saved_tensors
        if state.enabled:           # create_graph=True: the derivative is recorded
            grads = self._derivative(_TENSORS, gy, *saved)
            return self._wanted(grads)
        arrays = [None if t is None else t._data for t in saved]
        grads = self._derivative(_ARRAYS, gy._data, *arrays)
        return self._wanted([None if g is None else gy._make(g, None) for g in grads])

    def _wanted(self, grads):
        """One gradient per input actually passed, None where none is needed."""
        present = [g for g, passed in zip(grads, self._passed) if passed]
        return tuple(g if need else None for g, need in zip(present, self.needs_input_grad))

    def _walk_back(self, length):
        return reversed(list(self._steps(length)))


class RNNScan(_Scan):
    """Kept as a gate for speed: an Elman RNN over every step in one node.

    h_t = act(xproj_t + h_{t-1} W_hh^T + b_hh), act = tanh (derivative 1 - h^2) or relu
    (derivative 1 where h > 0). Inputs: xproj (T, B, H), h0 (B, H), W_hh (H, H), optional
    b_hh (H,). Output: every step's state (T, B, H).
    """

    def __init__(self, nonlinearity="tanh", reverse=False, mask=None, bias=True):
        super().__init__(reverse, mask)
        self.nonlinearity = nonlinearity
        self._passed = (True, True, True, bias)

    def forward(self, xproj, h0, w_hh, b_hh=None):
        xp = backend.xp
        states = xp.empty(xproj.shape[:2] + h0.shape[-1:], dtype=xproj.dtype)
        w_t, h = w_hh.T, h0
        for t in self._steps(xproj.shape[0]):
            pre = xproj[t, ...] + h @ w_t
            if b_hh is not None:
                pre += b_hh
            new = backend_helpers.into(pre, xp.tanh, pre) if self.nonlinearity == "tanh" else \
                backend_helpers.into(pre, xp.maximum, pre, 0)
            h = self._keep(t, new, h)
            states[t, ...] = h
        self.save_for_backward(h0, w_hh, states)
        return states

    def _derivative(self, M, gy, h0, w_hh, states):
        if self.nonlinearity == "tanh":
            slope = 1 - states * states
        else:
            raw = states._data if M is _TENSORS else states
            slope = M.const(backend.namespace_of(raw).astype(raw > 0, raw.dtype), states)
        keep = self._keep_factor(M, states)
        g_pre, carry = [None] * states.shape[0], None
        for t in self._walk_back(states.shape[0]):
            g = gy[t, ...] if carry is None else gy[t, ...] + carry
            g_new = g if keep is None else g * keep[t, ...]
            g_pre[t] = g_new * slope[t, ...]
            carry = g_pre[t] @ w_hh
            if keep is not None:
                carry = carry + (g - g_new)          # a padded step passes its gradient on
        g_pre = M.stack(g_pre)
        g_w_hh = _rows(g_pre).T @ _rows(self._previous(M, h0, states))
        return g_pre, carry, g_w_hh, _column_sums(_rows(g_pre))


class LSTMScan(_Scan):
    """Kept as a gate for speed: an LSTM (optionally with a projection) over every step in
    one node.

    gates = xproj_t + h_{t-1} W_hh^T + b_hh, split into i, f, g, o (PyTorch's order);
    i, f, o = sigmoid, g = tanh; c_t = f c_{t-1} + i g; h_t = o tanh(c_t), times W_hr^T with a
    projection. Inputs: xproj (T, B, 4H), h0 (B, P), c0 (B, H), W_hh (4H, P), optional
    b_hh (4H,) and W_hr (P, H) (P = H without projection). Output: (T, B, P + H), every
    step's h and c side by side.

    Backward, per step (walking back): gm = gh W_hr; gc += gm o (1 - tanh^2 c);
    g_gates = [gc g i(1-i), gc c_{t-1} f(1-f), gc i (1-g^2), gm tanh(c) o(1-o)];
    gh_{t-1} = g_gates W_hh; gc_{t-1} = gc f.
    """

    def __init__(self, reverse=False, mask=None, bias=True, proj=False):
        super().__init__(reverse, mask)
        self._passed = (True, True, True, True, bias, proj)

    def forward(self, xproj, h0, c0, w_hh, *optional):
        xp = backend.xp
        optional = list(optional)
        b_hh = optional.pop(0) if self._passed[4] else None
        w_hr = optional.pop(0) if self._passed[5] else None
        size, proj = c0.shape[-1], h0.shape[-1]
        states = xp.empty(xproj.shape[:2] + (proj + size,), dtype=xproj.dtype)
        w_t, h, c = w_hh.T, h0, c0
        # sigmoid(x) = tanh(x / 2) / 2 + 1/2: all four gates in one tanh, in place
        scale = xp.full(4 * size, 0.5, dtype=xproj.dtype)
        scale[2 * size:3 * size] = 1.0
        offset = backend.xp.astype(xp.where(scale == 0.5, scale, 0.0), xproj.dtype)
        for t in self._steps(xproj.shape[0]):
            act = xproj[t, ...] + h @ w_t
            if b_hh is not None:
                act += b_hh
            act *= scale
            backend_helpers.into(act, xp.tanh, act)
            act *= scale
            act += offset
            i, f = act[:, :size], act[:, size:2 * size]
            g, o = act[:, 2 * size:3 * size], act[:, 3 * size:]
            c_new = f * c + i * g
            h_new = o * xp.tanh(c_new)
            if w_hr is not None:
                h_new = h_new @ w_hr.T
            h, c = self._keep(t, h_new, h), self._keep(t, c_new, c)
            states[t, :, :proj] = h
            states[t, :, proj:] = c
        self.save_for_backward(xproj, h0, c0, w_hh, b_hh, w_hr, states)
        return states

    def _derivative(self, M, gy, xproj, h0, c0, w_hh, b_hh, w_hr, states):
        size, proj = c0.shape[-1], h0.shape[-1]
        hs, cs = states[..., :proj], states[..., proj:]
        h_prev, c_prev = self._previous(M, h0, hs), self._previous(M, c0, cs)
        gates = xproj + _times_all(h_prev, w_hh.T)
        if b_hh is not None:
            gates = gates + b_hh
        i, f = M.sigmoid(gates[..., :size]), M.sigmoid(gates[..., size:2 * size])
        g, o = M.tanh(gates[..., 2 * size:3 * size]), M.sigmoid(gates[..., 3 * size:])
        tanh_c = M.tanh(cs)
        through_c = o * (1 - tanh_c * tanh_c)
        local = M.cat([g * i * (1 - i), c_prev * f * (1 - f), i * (1 - g * g),
                       tanh_c * o * (1 - o)], -1)
        cell_out = o * tanh_c if w_hr is not None else None
        del gates, i, g, o, tanh_c, c_prev       # peak memory: only what the walk reads
        keep = self._keep_factor(M, states)
        gy_h, gy_c = gy[..., :proj], gy[..., proj:]
        length = states.shape[0]
        g_gates, g_h_new = [None] * length, [None] * length
        carry_h = carry_c = None
        for t in self._walk_back(length):
            gh = gy_h[t, ...] if carry_h is None else gy_h[t, ...] + carry_h
            gc = gy_c[t, ...] if carry_c is None else gy_c[t, ...] + carry_c
            gh_new, gc_new = (gh, gc) if keep is None else (gh * keep[t, ...], gc * keep[t, ...])
            g_h_new[t] = gh_new
            gm = gh_new if w_hr is None else gh_new @ w_hr
            gc_total = gc_new + gm * through_c[t, ...]
            g_gates[t] = M.cat([gc_total, gc_total, gc_total, gm], -1) * local[t, ...]
            carry_h, carry_c = g_gates[t] @ w_hh, gc_total * f[t, ...]
            if keep is not None:
                carry_h, carry_c = carry_h + (gh - gh_new), carry_c + (gc - gc_new)
        g_gates = M.stack(g_gates)
        del local, through_c, f
        g_w_hh = _rows(g_gates).T @ _rows(h_prev)
        g_w_hr = None
        if w_hr is not None:
            g_w_hr = _rows(M.stack(g_h_new)).T @ _rows(cell_out)
        g_b_hh = _column_sums(_rows(g_gates)) if b_hh is not None else None
        return g_gates, carry_h, carry_c, g_w_hh, g_b_hh, g_w_hr


class GRUScan(_Scan):
    """Kept as a gate for speed: a GRU over every step in one node.

    hh = h_{t-1} W_hh^T + b_hh, split into r, z, n parts (PyTorch's order, as xproj);
    r = sigmoid(x_r + hh_r), z = sigmoid(x_z + hh_z), n = tanh(x_n + r hh_n),
    h_t = (1 - z) n + z h_{t-1}. Inputs: xproj (T, B, 3H), h0 (B, H), W_hh (3H, H), optional
    b_hh (3H,). Output: every step's state (T, B, H).

    Backward, per step: with dn = (1 - z)(1 - n^2), the gradient reaching xproj is
    gh [dn hh_n r(1-r), (h_{t-1} - n) z(1-z), dn]; the one reaching hh is the same with the
    n part times r; gh_{t-1} = g_hh W_hh + gh z.
    """

    def __init__(self, reverse=False, mask=None, bias=True):
        super().__init__(reverse, mask)
        self._passed = (True, True, True, bias)

    def forward(self, xproj, h0, w_hh, b_hh=None):
        xp = backend.xp
        size = h0.shape[-1]
        states = xp.empty(xproj.shape[:2] + (size,), dtype=xproj.dtype)
        w_t, h = w_hh.T, h0
        for t in self._steps(xproj.shape[0]):
            hh = h @ w_t
            if b_hh is not None:
                hh += b_hh
            x = xproj[t, ...]
            rz = _sigmoid_in_place(x[:, :2 * size] + hh[:, :2 * size])
            r, z = rz[:, :size], rz[:, size:]
            n = xp.tanh(x[:, 2 * size:] + r * hh[:, 2 * size:])
            h = self._keep(t, n + z * (h - n), h)
            states[t, ...] = h
        self.save_for_backward(xproj, h0, w_hh, b_hh, states)
        return states

    def _derivative(self, M, gy, xproj, h0, w_hh, b_hh, states):
        length, batch, size = states.shape
        h_prev = self._previous(M, h0, states)
        hh = _times_all(h_prev, w_hh.T)
        if b_hh is not None:
            hh = hh + b_hh
        r = M.sigmoid(xproj[..., :size] + hh[..., :size])
        z = M.sigmoid(xproj[..., size:2 * size] + hh[..., size:2 * size])
        hh_n = hh[..., 2 * size:]
        n = M.tanh(xproj[..., 2 * size:] + r * hh_n)
        dn = (1 - z) * (1 - n * n)
        d_r, d_z = dn * hh_n * r * (1 - r), (h_prev - n) * z * (1 - z)
        to_x = _reshape(M.cat([d_r, d_z, dn], -1), (length, batch, 3, size))
        to_hh = _reshape(M.cat([d_r, d_z, dn * r], -1), (length, batch, 3, size))
        keep = self._keep_factor(M, states)
        g_h_new, carry = [None] * length, None
        for t in self._walk_back(length):
            g = gy[t, ...] if carry is None else gy[t, ...] + carry
            g_new = g if keep is None else g * keep[t, ...]
            g_h_new[t] = g_new
            g_hh = _reshape(g_new[:, None, :] * to_hh[t, ...], (batch, 3 * size))
            carry = g_hh @ w_hh + g_new * z[t, ...]
            if keep is not None:
                carry = carry + (g - g_new)
        g_h_new = M.stack(g_h_new)[..., None, :]
        g_x = _reshape(g_h_new * to_x, (length, batch, 3 * size))
        g_hh = _reshape(g_h_new * to_hh, (length, batch, 3 * size))
        g_w_hh = _rows(g_hh).T @ _rows(h_prev)
        g_b_hh = _column_sums(_rows(g_hh)) if b_hh is not None else None
        return g_x, carry, g_w_hh, g_b_hh


# ---------------------------------------------------------------- functional forms of the scans

def _check_scan(op, xproj, first, w_hh, gates, extra=()):
    """Shapes and dtypes of a scan's inputs, checked once, up front. ``extra``: (name,
    tensor or None, the shape it must have)."""
    tensors = [xproj, first, w_hh] + [t for _, t, _ in extra if t is not None]
    for t in tensors:
        require_tensor(t, op)
    if xproj.ndim != 3 or xproj.shape[0] == 0 or xproj.shape[2] % gates:
        raise ShapeError(f"{op}: xproj must be (steps, batch, {gates} x hidden_size) with at "
                         f"least one step, got shape {xproj.shape}")
    batch, width = xproj.shape[1], xproj.shape[2]
    if first.ndim != 2 or first.shape[0] != batch:
        raise ShapeError(f"{op}: the initial state must be (batch={batch}, features), got "
                         f"shape {first.shape}")
    if w_hh.shape != (width, first.shape[1]):
        raise ShapeError(f"{op}: weight_hh has shape {w_hh.shape}; with xproj {xproj.shape} "
                         f"and an initial state {first.shape} it must be "
                         f"{(width, first.shape[1])}")
    for name, t, shape in extra:
        if t is not None and t.shape != shape:
            raise ShapeError(f"{op}: {name} has shape {t.shape}, expected {shape}")
    dtypes = sorted({str(t.dtype) for t in tensors})
    if len(dtypes) > 1 or backend.kind(xproj.dtype) != "f":
        raise DTypeError(f"{op}: every input must have the same floating dtype, got {dtypes}")


def _check_mask(op, mask, xproj):
    if mask is None:
        return None
    mask = backend.xp.asarray(mask._data if isinstance(mask, TensorBase) else mask, dtype=bool)
    if mask.shape != xproj.shape[:2]:
        raise ShapeError(f"{op}: mask must be (steps, batch) = {xproj.shape[:2]}, got "
                         f"{mask.shape}")
    return mask


def rnn_scan(xproj, h0, weight_hh, bias_hh=None, nonlinearity="tanh", reverse=False,
             mask=None):
    """Every state of an Elman RNN: h_t = act(xproj_t + h_{t-1} W_hh^T + b_hh), where
    ``xproj`` (T, B, H) is the input already projected (``x @ W_ih.T + b_ih``). Returns
    (T, B, H). ``reverse`` walks from the last step; ``mask`` (T, B) marks the real steps.

    >>> import chainrule
    >>> h = rnn_scan(chainrule.ones(4, 1, 2), chainrule.zeros(1, 2), chainrule.zeros(2, 2))
    >>> [round(v, 4) for v in h[-1, 0].tolist()]
    [0.7616, 0.7616]
    """
    if nonlinearity not in ("tanh", "relu"):
        raise ArgumentError(f"rnn_scan: nonlinearity must be 'tanh' or 'relu', got "
                            f"{nonlinearity!r}")
    _check_scan("rnn_scan", xproj, h0, weight_hh, 1,
                [("bias_hh", bias_hh, xproj.shape[-1:])])
    scan = RNNScan(nonlinearity, reverse, _check_mask("rnn_scan", mask, xproj),
                   bias_hh is not None)
    if bias_hh is None:
        return scan(xproj, h0, weight_hh)
    return scan(xproj, h0, weight_hh, bias_hh)


def lstm_scan(xproj, h0, c0, weight_hh, bias_hh=None, weight_hr=None, reverse=False,
              mask=None):
    """Every state of an LSTM, h and c side by side: (T, B, P + H), from the projected
    input ``xproj`` (T, B, 4H) (gates in PyTorch's order i, f, g, o), h0 (B, P), c0 (B, H),
    W_hh (4H, P), b_hh (4H,) and, with a projection, W_hr (P, H).

    >>> import chainrule
    >>> s = lstm_scan(chainrule.zeros(3, 2, 8), chainrule.zeros(2, 2), chainrule.zeros(2, 2),
    ...               chainrule.zeros(8, 2))
    >>> s.shape
    (3, 2, 4)
    """
    require_tensor(c0, "lstm_scan")
    hidden = xproj.shape[-1] // 4
    _check_scan("lstm_scan", xproj, h0, weight_hh, 4,
                [("c0", c0, (xproj.shape[1], hidden)), ("bias_hh", bias_hh, xproj.shape[-1:]),
                 ("weight_hr", weight_hr, (h0.shape[-1], hidden))])
    if weight_hr is None and h0.shape[1] != hidden:
        raise ShapeError(f"lstm_scan: h0 of shape {h0.shape} has {h0.shape[1]} features but "
                         f"the cell has {hidden}: pass weight_hr to project them")
    scan = LSTMScan(reverse, _check_mask("lstm_scan", mask, xproj), bias_hh is not None,
                    weight_hr is not None)
    inputs = [t for t in (xproj, h0, c0, weight_hh, bias_hh, weight_hr) if t is not None]
    return scan(*inputs)


def gru_scan(xproj, h0, weight_hh, bias_hh=None, reverse=False, mask=None):
    """Every state of a GRU (T, B, H), from the projected input ``xproj`` (T, B, 3H) (parts
    in PyTorch's order r, z, n), h0 (B, H), W_hh (3H, H) and b_hh (3H,).

    >>> import chainrule
    >>> gru_scan(chainrule.zeros(3, 2, 6), chainrule.ones(2, 2), chainrule.zeros(6, 2)).shape
    (3, 2, 2)
    """
    _check_scan("gru_scan", xproj, h0, weight_hh, 3,
                [("bias_hh", bias_hh, xproj.shape[-1:])])
    scan = GRUScan(reverse, _check_mask("gru_scan", mask, xproj), bias_hh is not None)
    if bias_hh is None:
        return scan(xproj, h0, weight_hh)
    return scan(xproj, h0, weight_hh, bias_hh)


# ---------------------------------------------------------------- cells (one step)

def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One step of an Elman RNN: tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (torch.rnn_tanh_cell).

    >>> import chainrule
    >>> rnn_tanh_cell(chainrule.ones(1, 2), chainrule.zeros(1, 3), chainrule.ones(3, 2),
    ...               chainrule.ones(3, 3)).shape
    (1, 3)
    """
    return tanh(linear(input, w_ih, b_ih) + linear(hx, w_hh, b_hh))


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One step of an Elman RNN with relu (torch.rnn_relu_cell).

    >>> import chainrule
    >>> rnn_relu_cell(chainrule.ones(1, 2), chainrule.zeros(1, 3), -chainrule.ones(3, 2),
    ...               chainrule.ones(3, 3)).tolist()
    [[0.0, 0.0, 0.0]]
    """
    return relu(linear(input, w_ih, b_ih) + linear(hx, w_hh, b_hh))


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step (torch.lstm_cell): ``hx`` is (h, c); returns (h', c').

    >>> import chainrule
    >>> h, c = lstm_cell(chainrule.ones(1, 2), (chainrule.zeros(1, 3), chainrule.zeros(1, 3)),
    ...                  chainrule.zeros(12, 2), chainrule.zeros(12, 3))
    >>> c.tolist()                    # f c + i g with g = tanh(0) = 0
    [[0.0, 0.0, 0.0]]
    """
    h, c = hx
    gates = linear(input, w_ih, b_ih) + linear(h, w_hh, b_hh)
    i, f, g, o = gates.chunk(4, 1)
    c_new = sigmoid(f) * c + sigmoid(i) * tanh(g)
    return sigmoid(o) * tanh(c_new), c_new


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step (torch.gru_cell): r and z gates, n = tanh(x_n + r (h W_hn^T + b_hn)),
    h' = (1 - z) n + z h.

    >>> import chainrule
    >>> gru_cell(chainrule.ones(1, 2), chainrule.ones(1, 3), chainrule.zeros(9, 2),
    ...          chainrule.zeros(9, 3)).tolist()                # z = 1/2, n = 0
    [[0.5, 0.5, 0.5]]
    """
    x_r, x_z, x_n = linear(input, w_ih, b_ih).chunk(3, 1)
    h_r, h_z, h_n = linear(hx, w_hh, b_hh).chunk(3, 1)
    r, z = sigmoid(x_r + h_r), sigmoid(x_z + h_z)
    n = tanh(x_n + r * h_n)
    return n + z * (hx - n)
