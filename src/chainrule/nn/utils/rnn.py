"""Sequences of different lengths for the recurrent layers (PyTorch's ``nn.utils.rnn``).

A :class:`PackedSequence` holds the real steps of a batch of sequences one after the other in
time order, longest sequence first within each step, as PyTorch's: ``data`` (steps, *),
``batch_sizes`` (how many sequences are still running at each step), and the permutation
that sorted the batch by length (``sorted_indices``) with its inverse.

Every conversion here is one indexing op (its gradient a scatter back), whatever the number
of sequences: a table of where each padded position lives in ``data``.

>>> import chainrule
>>> from chainrule.nn.utils.rnn import pack_sequence, pad_packed_sequence
>>> packed = pack_sequence([chainrule.tensor([1., 2., 3.]), chainrule.tensor([4., 5.])])
>>> packed.data.tolist(), packed.batch_sizes.tolist()
([1.0, 4.0, 2.0, 5.0, 3.0], [2, 2, 1])
>>> padded, lengths = pad_packed_sequence(packed, batch_first=True)
>>> padded.tolist(), lengths.tolist()
([[1.0, 2.0, 3.0], [4.0, 5.0, 0.0]], [3, 2])
"""
from collections import namedtuple

import numpy

from ... import backend
from ...errors import ArgumentError, ArgumentTypeError, ShapeError
from ...creation import full
from ...ops import cat
from ...tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence",
           "pad_packed_sequence", "pad_sequence", "unpad_sequence", "pack_sequence",
           "unpack_sequence"]

_Fields = namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices",
                                        "unsorted_indices"])


def _int_tensor(values):
    return Tensor(backend.xp.asarray(numpy.asarray(values, dtype=numpy.int64)))


def _ints(values, what):
    """A 1-D int64 NumPy array from a list or an integer tensor."""
    if isinstance(values, Tensor):
        values = backend.to_numpy(values._data)
    array = numpy.asarray(values)
    if backend.kind(array.dtype) not in "iu" and array.size:
        raise ArgumentTypeError(f"{what} must hold integers, got {array.dtype}")
    return array.astype(numpy.int64).reshape(-1)


class PackedSequence(_Fields):
    """Sequences packed step by step (made by :func:`pack_padded_sequence` and
    :func:`pack_sequence`); a named tuple ``(data, batch_sizes, sorted_indices,
    unsorted_indices)`` as PyTorch's.

    >>> import chainrule
    >>> p = PackedSequence(chainrule.ones(3, 2), chainrule.tensor([2, 1]))
    >>> p.batch_sizes.tolist(), p.sorted_indices is None
    ([2, 1], True)
    """

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if batch_sizes is None:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise ArgumentError("PackedSequence: give data and batch_sizes")
            data, batch_sizes = data
        if not isinstance(batch_sizes, Tensor):
            batch_sizes = _int_tensor(batch_sizes)
        if sorted_indices is not None and not isinstance(sorted_indices, Tensor):
            sorted_indices = _int_tensor(sorted_indices)
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """The same packing with ``data.to(...)`` (the indices stay int64)."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def double(self):
        return self.to(numpy.float64)

    def float(self):
        return self.to(numpy.float32)

    @property
    def is_cuda(self):
        return False


def invert_permutation(permutation):
    """The permutation that undoes ``permutation`` (None stays None).

    >>> import chainrule
    >>> invert_permutation(chainrule.tensor([2, 0, 1])).tolist()
    [1, 2, 0]
    """
    if permutation is None:
        return None
    order = _ints(permutation, "invert_permutation: permutation")
    inverse = numpy.empty_like(order)
    inverse[order] = numpy.arange(order.size)
    return _int_tensor(inverse)


# ---------------------------------------------------------------- where the steps live

def packed_positions(batch_sizes, sorted_indices=None):
    """For each row of a PackedSequence's data, in order: its step and its sequence's place
    in the original batch (two int64 arrays)."""
    sizes = _ints(batch_sizes, "batch_sizes")
    steps = numpy.repeat(numpy.arange(sizes.size), sizes)
    ranks = numpy.concatenate([numpy.arange(n) for n in sizes]) if sizes.size else sizes
    if sorted_indices is not None:
        ranks = _ints(sorted_indices, "sorted_indices")[ranks]
    return steps, ranks


def _lengths(batch_sizes, sorted_indices):
    """Each sequence's length, in the original batch order."""
    sizes = _ints(batch_sizes, "batch_sizes")
    batch = int(sizes[0]) if sizes.size else 0
    by_rank = (sizes[None, :] > numpy.arange(batch)[:, None]).sum(axis=1)
    if sorted_indices is None:
        return by_rank
    lengths = numpy.empty_like(by_rank)
    lengths[_ints(sorted_indices, "sorted_indices")] = by_rank
    return lengths


def _gather(rows, table, padding_value):
    """``rows`` (N, *) laid out as ``table`` says: table holds row numbers, N for padding."""
    pad = full((1,) + tuple(rows.shape[1:]), padding_value, dtype=rows.dtype)
    source = cat([rows, pad]) if table.size and (table == rows.shape[0]).any() else rows
    return source[table]


def packed_to_padded(sequence, padding_value=0.0, total_length=None, batch_first=False):
    """A PackedSequence's data as (steps, batch, *) in the original batch order (or
    (batch, steps, *)), plus the (steps, batch) table of real steps."""
    steps, ranks = packed_positions(sequence.batch_sizes, sequence.sorted_indices)
    length = int(steps.max()) + 1 if steps.size else 0
    if total_length is not None:
        length = total_length
    batch = int(_ints(sequence.batch_sizes, "batch_sizes")[0]) if steps.size else 0
    table = numpy.full((length, batch), steps.size, dtype=numpy.int64)
    table[steps, ranks] = numpy.arange(steps.size)
    real = table < steps.size
    if batch_first:
        table = table.T
    return _gather(sequence.data, table, padding_value), real


def padded_to_packed(padded, batch_sizes, sorted_indices=None, batch_first=False):
    """The inverse: the real steps of a padded (steps, batch, *) tensor, packed."""
    steps, ranks = packed_positions(batch_sizes, sorted_indices)
    index = (ranks, steps) if batch_first else (steps, ranks)
    return padded[index]


# ---------------------------------------------------------------- PyTorch's functions

def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch (steps, batch, *) — or (batch, steps, *) with ``batch_first`` —
    of sequences with the given ``lengths``. With ``enforce_sorted`` (the default) the lengths
    must be decreasing; otherwise the batch is sorted here and the order remembered.

    >>> import chainrule
    >>> x = chainrule.tensor([[1., 2.], [3., 0.]])         # batch_first: lengths 2 and 1
    >>> pack_padded_sequence(x, [2, 1], batch_first=True).data.tolist()
    [1.0, 3.0, 2.0]
    """
    if not isinstance(input, Tensor):
        raise ArgumentTypeError(f"pack_padded_sequence: input must be a Tensor, got "
                                f"{type(input).__name__}")
    lengths = _ints(lengths, "pack_padded_sequence: lengths")
    batch_axis, time_axis = (0, 1) if batch_first else (1, 0)
    if input.ndim < 2 or lengths.size != input.shape[batch_axis]:
        raise ShapeError(f"pack_padded_sequence: {lengths.size} lengths for an input of "
                         f"shape {input.shape} (batch is axis {batch_axis})")
    if lengths.size and lengths.min() <= 0:
        raise ArgumentError("pack_padded_sequence: Length of all samples has to be greater "
                            f"than 0, but found an element in 'lengths' that is <= 0: "
                            f"{lengths.tolist()}")
    if lengths.size and lengths.max() > input.shape[time_axis]:
        raise ShapeError(f"pack_padded_sequence: a length of {lengths.max()} is longer than "
                         f"the input's {input.shape[time_axis]} steps")
    if enforce_sorted:
        if (numpy.diff(lengths) > 0).any():
            raise ArgumentError(
                "pack_padded_sequence: `lengths` array must be sorted in decreasing order when "
                "`enforce_sorted` is True; pass enforce_sorted=False to sort the batch here "
                f"(got {lengths.tolist()})")
        sorted_indices = None
        by_rank = lengths
    else:
        order = numpy.argsort(-lengths, kind="stable")
        sorted_indices, by_rank = _int_tensor(order), lengths[order]
    longest = int(by_rank[0]) if by_rank.size else 0
    batch_sizes = (by_rank[None, :] > numpy.arange(longest)[:, None]).sum(axis=1)
    data = padded_to_packed(input, batch_sizes, sorted_indices, batch_first)
    return PackedSequence(data, _int_tensor(batch_sizes), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Undo :func:`pack_padded_sequence`: (padded, lengths), the batch in its original order,
    padded with ``padding_value`` to the longest sequence (or to ``total_length``).

    >>> import chainrule
    >>> p = pack_padded_sequence(chainrule.tensor([[1., 2.], [3., 0.]]), [1, 2],
    ...                          batch_first=True, enforce_sorted=False)
    >>> padded, lengths = pad_packed_sequence(p, batch_first=True, padding_value=-1.0)
    >>> padded.tolist(), lengths.tolist()
    ([[1.0, -1.0], [3.0, 0.0]], [1, 2])
    """
    if not isinstance(sequence, PackedSequence):
        raise ArgumentTypeError(f"pad_packed_sequence: expected a PackedSequence, got "
                                f"{type(sequence).__name__}")
    longest = int(_ints(sequence.batch_sizes, "batch_sizes").size)
    if total_length is not None and total_length < longest:
        raise ArgumentError(
            "pad_packed_sequence: Expected total_length to be at least the length of the "
            f"longest sequence in input, but got total_length={total_length} and max sequence "
            f"length being {longest}")
    padded, _ = packed_to_padded(sequence, padding_value, total_length, batch_first)
    return padded, _int_tensor(_lengths(sequence.batch_sizes, sequence.sorted_indices))


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack sequences of shapes (L_i, *) into (max L, batch, *) — (batch, max L, *) with
    ``batch_first`` — padded with ``padding_value`` on the right (or the left).

    >>> import chainrule
    >>> pad_sequence([chainrule.ones(2), chainrule.ones(1)], batch_first=True).tolist()
    [[1.0, 1.0], [1.0, 0.0]]
    """
    if padding_side not in ("left", "right"):
        raise ArgumentError(f"pad_sequence: padding_side must be 'left' or 'right', got "
                            f"{padding_side!r}")
    if isinstance(sequences, Tensor):
        sequences = [sequences[i] for i in range(sequences.shape[0])]
    sequences = list(sequences)
    if not sequences:
        raise ArgumentError("pad_sequence: received an empty list of sequences")
    for s in sequences:
        if not isinstance(s, Tensor):
            raise ArgumentTypeError(f"pad_sequence: expected Tensors, got {type(s).__name__}")
        if s.ndim == 0 or s.shape[1:] != sequences[0].shape[1:]:
            raise ShapeError(f"pad_sequence: every sequence must be (length, *) with the same "
                             f"trailing shape, got {[tuple(t.shape) for t in sequences]}")
    lengths = numpy.array([s.shape[0] for s in sequences], dtype=numpy.int64)
    longest, total = int(lengths.max()), int(lengths.sum())
    starts = numpy.concatenate([[0], numpy.cumsum(lengths)[:-1]])
    table = numpy.full((longest, len(sequences)), total, dtype=numpy.int64)
    for b, (start, n) in enumerate(zip(starts, lengths)):
        first = longest - n if padding_side == "left" else 0
        table[first:first + n, b] = numpy.arange(start, start + n)
    if batch_first:
        table = table.T
    return _gather(cat(sequences), table, padding_value)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """Split a padded batch back into a list of sequences (PyTorch's, without transposing
    the input in place).

    >>> import chainrule
    >>> [s.tolist() for s in unpad_sequence(chainrule.tensor([[1., 2.], [3., 0.]]), [2, 1],
    ...                                     batch_first=True)]
    [[1.0, 2.0], [3.0]]
    """
    lengths = _ints(lengths, "unpad_sequence: lengths")
    if batch_first:
        return [padded_sequences[b, :int(n)] for b, n in enumerate(lengths)]
    return [padded_sequences[:int(n), b] for b, n in enumerate(lengths)]


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of sequences (L_i, *) (longest first, unless ``enforce_sorted=False``).

    >>> import chainrule
    >>> packed = pack_sequence([chainrule.ones(1), chainrule.ones(2)], enforce_sorted=False)
    >>> packed.batch_sizes.tolist(), packed.sorted_indices.tolist()
    ([2, 1], [1, 0])
    """
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """The list of sequences a PackedSequence holds, in the original order.

    >>> import chainrule
    >>> p = pack_sequence([chainrule.ones(1), chainrule.ones(2)], enforce_sorted=False)
    >>> [s.shape for s in unpack_sequence(p)]
    [(1,), (2,)]
    """
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
