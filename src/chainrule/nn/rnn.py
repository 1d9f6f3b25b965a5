"""Recurrent layers: RNN, LSTM, GRU (multi-layer, bidirectional, packed sequences) and the
single-step RNNCell, LSTMCell, GRUCell — PyTorch's names, arguments, parameters and outputs.

A layer direction is two ops: one matrix product projects the input of every step at once,
then one scan node (``chainrule.ops.recurrent``) runs the recurrence over time. The graph is
a few nodes per layer whatever the sequence length, so backward through time neither
recurses nor grows more than linearly in memory. Sequences of different lengths come as a
:class:`~chainrule.nn.utils.rnn.PackedSequence`: they are laid out padded with a mask of
real steps, and a padded step keeps the state it was given.

>>> import chainrule
>>> lstm = chainrule.nn.LSTM(4, 8, num_layers=2, batch_first=True)
>>> output, (h_n, c_n) = lstm(chainrule.randn(3, 5, 4))
>>> output.shape, h_n.shape, c_n.shape
((3, 5, 8), (2, 3, 8), (2, 3, 8))
"""
import math
import numbers
import warnings

import numpy

from .. import backend
from ..creation import empty_like_shape
from ..errors import ArgumentError, ArgumentTypeError, ShapeError
from ..ops import cat, stack
from ..ops.linalg import linear
from ..ops.recurrent import (gru_cell, gru_scan, lstm_cell, lstm_scan, rnn_relu_cell,
                             rnn_scan, rnn_tanh_cell)
from ..tensor import Tensor
from . import functional as F
from . import init
from .linear import match_dtype
from .module import Module
from .parameter import Parameter
from .utils.rnn import PackedSequence, packed_to_padded, padded_to_packed

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _check_device(device, layer):
    if device is not None and str(device) != "cpu":
        raise ArgumentError(f"{layer}: device={device!r} is not available; chainrule runs on "
                            "the CPU (device=None or 'cpu')")


def _zeros(shape, like):
    return like._make(backend.xp.zeros(shape, dtype=like._data.dtype), None)


class RNNBase(Module):
    """What RNN, LSTM and GRU share: the parameters ``weight_ih_l{k}``, ``weight_hh_l{k}``,
    ``bias_ih_l{k}``, ``bias_hh_l{k}`` (``_reverse`` for the second direction,
    ``weight_hr_l{k}`` with an LSTM's projection), their U(-1/sqrt(hidden), 1/sqrt(hidden))
    initialisation, and the loop over layers and directions.

    >>> import chainrule
    >>> [name for name, _ in chainrule.nn.GRU(2, 3, bias=False).named_parameters()]
    ['weight_ih_l0', 'weight_hh_l0']
    """

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0, device=None,
                 dtype=None):
        super().__init__()
        layer = type(self).__name__
        _check_arguments(layer, input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, proj_size)
        _check_device(device, layer)
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=3)
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bool(bidirectional)
        self.proj_size = proj_size
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names, self._all_weights = [], []
        for k in range(num_layers):
            layer_input = input_size if k == 0 else real_hidden * directions
            for direction in range(directions):
                suffix = "_reverse" if direction == 1 else ""
                shapes = [("weight_ih", (gate_size, layer_input)),
                          ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    shapes += [("weight_hr", (proj_size, hidden_size))]
                names = []
                for name, shape in shapes:
                    names.append(f"{name}_l{k}{suffix}")
                    setattr(self, names[-1], Parameter(empty_like_shape(shape, dtype)))
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def flatten_parameters(self):
        """PyTorch's cuDNN weight layout call: nothing to do here."""

    @property
    def _flat_weights(self):
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self):
        """The parameters, one list per layer and direction (PyTorch's order)."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ------------------------------------------------------------ forward
    @property
    def _state_sizes(self):
        """Features of h and (LSTM) of c."""
        return (self.proj_size or self.hidden_size), self.hidden_size

    def forward(self, input, hx=None):
        layer = type(self).__name__
        packed = isinstance(input, PackedSequence)
        if packed:
            x = match_dtype(input.data, self.weight_ih_l0, layer)
            x, mask = packed_to_padded(input._replace(data=x))
            batched = True
        else:
            if not isinstance(input, Tensor):
                input = Tensor(input)
            if input.ndim not in (2, 3):
                raise ShapeError(f"{layer}: Expected input to be 2D or 3D, got {input.ndim}D "
                                 f"tensor instead (shape {input.shape})")
            batched, mask = input.ndim == 3, None
            x = match_dtype(input, self.weight_ih_l0, layer)
            if not batched:
                x = x.unsqueeze(1)
            elif self.batch_first:
                x = x.transpose(0, 1)
        if x.shape[-1] != self.input_size:
            raise ShapeError(f"{layer}: input.size(-1) must be equal to input_size. Expected "
                             f"{self.input_size}, got {x.shape[-1]}")
        if x.shape[0] == 0:
            raise ShapeError(f"{layer}: Expected sequence length to be larger than 0 in RNN "
                             f"(input shape {tuple(input.shape if not packed else x.shape)})")
        states = self._initial_states(hx, x, batched)
        output, final = self._layers(x, states, mask)
        if packed:
            data = padded_to_packed(output, input.batch_sizes, input.sorted_indices)
            output = PackedSequence(data, input.batch_sizes, input.sorted_indices,
                                    input.unsorted_indices)
        elif not batched:
            output = output.squeeze(1)
            final = [s.squeeze(1) for s in final]
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, (tuple(final) if self.mode == "LSTM" else final[0])

    def _initial_states(self, hx, x, batched):
        """h0 (and c0) as (layers * directions, batch, features), zeros when not given."""
        layer = type(self).__name__
        count = self.num_layers * (2 if self.bidirectional else 1)
        sizes = self._state_sizes if self.mode == "LSTM" else self._state_sizes[:1]
        if hx is None:
            return [_zeros((count, x.shape[1], n), x) for n in sizes]
        given = list(hx) if self.mode == "LSTM" else [hx]
        if self.mode == "LSTM" and len(given) != 2:
            raise ArgumentError(f"{layer}: hx must be a pair (h_0, c_0), got {len(given)} "
                                "tensors")
        states = []
        for i, (state, n) in enumerate(zip(given, sizes)):
            if not isinstance(state, Tensor):
                raise ArgumentTypeError(f"{layer}: the initial state must be a Tensor, got "
                                        f"{type(state).__name__}")
            want_dim = 3 if batched else 2
            if state.ndim != want_dim:
                kind = "batched 3-D" if batched else "unbatched 2-D"
                raise ShapeError(f"{layer}: For {kind} input, hx should also be "
                                 f"{want_dim}-D but got {state.ndim}-D tensor")
            state = match_dtype(state, self.weight_ih_l0, layer)
            if not batched:
                state = state.unsqueeze(1)
            expected = (count, x.shape[1], n)
            if tuple(state.shape) != expected:
                which = f"hidden[{i}]" if self.mode == "LSTM" else "hidden"
                raise ShapeError(f"{layer}: Expected {which} size {expected}, got "
                                 f"{list(state.shape)}")
            states.append(state)
        return states

    def _layers(self, x, states, mask):
        """Run every layer and direction; the last layer's output (time-major) and the
        final states (h_n and, for an LSTM, c_n)."""
        directions = 2 if self.bidirectional else 1
        finals = [[] for _ in states]
        for k in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = k * directions + direction
                weights = self.all_weights[index]
                seq, last = self._direction(x, weights, [s[index] for s in states],
                                            direction == 1, mask)
                outputs.append(seq)
                for found, state in zip(finals, last):
                    found.append(state)
            x = outputs[0] if directions == 1 else cat(outputs, -1)
            if self.dropout and self.training and k < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        return x, [stack(found) for found in finals]

    def _direction(self, x, weights, initial, reverse, mask):
        """One layer in one direction: (every step's h, [h_n] or [h_n, c_n])."""
        w_ih, w_hh, *rest = weights
        b_ih, b_hh = (rest[0], rest[1]) if self.bias else (None, None)
        steps, batch = x.shape[:2]                     # every step's input at once, as rows
        xproj = linear(x.reshape(steps * batch, x.shape[-1]), w_ih, b_ih)
        xproj = xproj.reshape(steps, batch, w_ih.shape[0])
        end = 0 if reverse else -1
        if self.mode == "LSTM":
            w_hr = rest[-1] if self.proj_size > 0 else None
            both = lstm_scan(xproj, initial[0], initial[1], w_hh, b_hh, w_hr, reverse, mask)
            size = self._state_sizes[0]
            last = both[end]
            return both[..., :size], [last[..., :size], last[..., size:]]
        if self.mode == "GRU":
            seq = gru_scan(xproj, initial[0], w_hh, b_hh, reverse, mask)
        else:
            nonlinearity = "tanh" if self.mode == "RNN_TANH" else "relu"
            seq = rnn_scan(xproj, initial[0], w_hh, b_hh, nonlinearity, reverse, mask)
        return seq, [seq[end]]


def _check_arguments(layer, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                     proj_size):
    """PyTorch's checks of the constructor's arguments, as chainrule errors."""
    if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
            or not 0 <= dropout <= 1):
        raise ArgumentError(f"{layer}: dropout should be a number in range [0, 1] representing "
                            f"the probability of an element being zeroed, got {dropout!r}")
    for name, value in (("bias", bias), ("batch_first", batch_first)):
        if not isinstance(value, bool):
            raise ArgumentTypeError(f"{layer}: {name} should be of type bool, got: "
                                    f"{type(value).__name__}")
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size),
                        ("num_layers", num_layers), ("proj_size", proj_size)):
        if not isinstance(value, (int, numpy.integer)) or isinstance(value, bool):
            raise ArgumentTypeError(f"{layer}: {name} should be of type int, got: "
                                    f"{type(value).__name__}")
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size),
                        ("num_layers", num_layers)):
        if value <= 0:
            raise ArgumentError(f"{layer}: {name} must be greater than zero, got {value}")
    if proj_size < 0:
        raise ArgumentError(f"{layer}: proj_size should be a positive integer or zero to "
                            f"disable projections, got {proj_size}")
    if proj_size >= hidden_size:
        raise ArgumentError(f"{layer}: proj_size has to be smaller than hidden_size, got "
                            f"proj_size={proj_size} and hidden_size={hidden_size}")


def _no_projection(layer, kwargs):
    if "proj_size" in kwargs:
        raise ArgumentError(f"{layer}: proj_size argument is only supported for LSTM, not RNN "
                            "or GRU")


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu), stacked
    ``num_layers`` deep, optionally bidirectional. Arguments as PyTorch's:
    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None)``.
    Returns ``(output, h_n)``.

    >>> import chainrule
    >>> rnn = RNN(10, 20, 2)
    >>> output, h_n = rnn(chainrule.randn(5, 3, 10), chainrule.randn(2, 3, 20))
    >>> output.shape, h_n.shape
    ((5, 3, 20), (2, 3, 20))
    """

    def __init__(self, *args, **kwargs):
        _no_projection("RNN", kwargs)
        if len(args) > 3:
            nonlinearity, args = args[3], args[:3] + args[4:]
        else:
            nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if nonlinearity not in ("tanh", "relu"):
            raise ArgumentError(f"RNN: Unknown nonlinearity '{nonlinearity}'. Select from "
                                "'tanh' or 'relu'.")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", *args, **kwargs)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory, PyTorch's gates (i, f, g, o) and arguments:
    ``LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, proj_size=0, device=None, dtype=None)``. Takes ``(input, (h_0,
    c_0))``; returns ``(output, (h_n, c_n))``.

    >>> import chainrule
    >>> lstm = LSTM(10, 20, 2, proj_size=5)
    >>> output, (h_n, c_n) = lstm(chainrule.randn(7, 10))       # unbatched
    >>> output.shape, h_n.shape, c_n.shape
    ((7, 5), (2, 5), (2, 20))
    """

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """Gated recurrent unit, PyTorch's gates (r, z, n; the reset gate applied after W_hn) and
    arguments: ``GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
    dropout=0.0, bidirectional=False, device=None, dtype=None)``. Returns ``(output, h_n)``.

    >>> import chainrule
    >>> gru = GRU(10, 20, bidirectional=True)
    >>> output, h_n = gru(chainrule.randn(5, 3, 10))
    >>> output.shape, h_n.shape
    ((5, 3, 40), (2, 3, 20))
    """

    def __init__(self, *args, **kwargs):
        _no_projection("GRU", kwargs)
        super().__init__("GRU", *args, **kwargs)


# ---------------------------------------------------------------- cells

class RNNCellBase(Module):
    """What the cells share: ``weight_ih`` (chunks * hidden, input), ``weight_hh`` (chunks *
    hidden, hidden), ``bias_ih``, ``bias_hh``, initialised U(-1/sqrt(hidden), 1/sqrt(hidden)).

    >>> import chainrule
    >>> chainrule.nn.LSTMCell(3, 2).weight_hh.shape
    (8, 2)
    """

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        layer = type(self).__name__
        _check_arguments(layer, input_size, hidden_size, 1, bias, False, 0.0, 0)
        _check_device(device, layer)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_ih = Parameter(empty_like_shape((num_chunks * hidden_size, input_size),
                                                    dtype))
        self.weight_hh = Parameter(empty_like_shape((num_chunks * hidden_size, hidden_size),
                                                    dtype))
        if bias:
            self.bias_ih = Parameter(empty_like_shape((num_chunks * hidden_size,), dtype))
            self.bias_hh = Parameter(empty_like_shape((num_chunks * hidden_size,), dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _batched(self, input, states):
        """The input and states as 2-D (batch, features); whether the input had a batch."""
        layer = type(self).__name__
        if not isinstance(input, Tensor):
            input = Tensor(input)
        if input.ndim not in (1, 2):
            raise ShapeError(f"{layer}: Expected input to be 1D or 2D, got {input.ndim}D "
                             f"instead (shape {input.shape})")
        if input.shape[-1] != self.input_size:
            raise ShapeError(f"{layer}: input has {input.shape[-1]} features, expected "
                             f"input_size={self.input_size} (shape {input.shape})")
        input = match_dtype(input, self.weight_ih, layer)
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
        shaped = []
        for i, state in enumerate(states):
            if state is None:
                shaped.append(_zeros((input.shape[0], self.hidden_size), input))
                continue
            name = "hidden" if len(states) == 1 else f"hx[{i}]"
            if state.ndim not in (1, 2):
                raise ShapeError(f"{layer}: Expected {name} to be 1D or 2D, got "
                                 f"{state.ndim}D instead")
            state = match_dtype(state, self.weight_ih, layer)
            state = state if batched else state.unsqueeze(0)
            if tuple(state.shape) != (input.shape[0], self.hidden_size):
                raise ShapeError(f"{layer}: {name} has shape {tuple(state.shape)}, expected "
                                 f"{(input.shape[0], self.hidden_size)}")
            shaped.append(state)
        return input, shaped, batched


class RNNCell(RNNCellBase):
    """One step of an Elman RNN: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu).

    >>> import chainrule
    >>> cell = RNNCell(10, 20)
    >>> hx = chainrule.randn(3, 20)
    >>> for x in chainrule.randn(6, 3, 10):
    ...     hx = cell(x, hx)
    >>> hx.shape
    (3, 20)
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ArgumentError(f"RNNCell: Unknown nonlinearity: {nonlinearity!r} (use 'tanh' "
                                "or 'relu')")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        x, (h,), batched = self._batched(input, [hx])
        step = rnn_tanh_cell if self.nonlinearity == "tanh" else rnn_relu_cell
        out = step(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return out if batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step: takes ``(input, (h, c))``, returns ``(h', c')``.

    >>> import chainrule
    >>> cell = LSTMCell(10, 20)
    >>> h, c = cell(chainrule.randn(3, 10))
    >>> h.shape, c.shape
    ((3, 20), (3, 20))
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        if hx is not None and len(hx) != 2:
            raise ArgumentError(f"LSTMCell: hx must be a pair (h, c), got {len(hx)} tensors")
        x, (h, c), batched = self._batched(input, [None, None] if hx is None else list(hx))
        h, c = lstm_cell(x, (h, c), self.weight_ih, self.weight_hh, self.bias_ih,
                         self.bias_hh)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step: h' = (1 - z) n + z h.

    >>> import chainrule
    >>> GRUCell(10, 20)(chainrule.randn(10), chainrule.zeros(20)).shape       # unbatched
    (20,)
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        x, (h,), batched = self._batched(input, [hx])
        out = gru_cell(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return out if batched else out.squeeze(0)
