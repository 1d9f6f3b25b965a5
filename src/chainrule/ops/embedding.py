"""Embedding lookup: rows of a table picked by integer indices, and its adjoint, the
scatter-add of rows back into a table.

The two are each other's transposes, so each one's backward is the other and derivatives of
any order follow. A per-position ``scale`` enters both directions of the gradient only: 0
for positions holding ``padding_idx`` (the row keeps its values in forward but gets no
gradient, as PyTorch's) and 1/count of the index with ``scale_grad_by_freq``.
"""
from .. import backend, backend_helpers
from ..autograd.function import Function


def _scaled(g, scale):
    """g (indices.shape + (D,)) times a per-position scale (or g itself when None)."""
    return g if scale is None else g * g._make(scale[..., None].astype(g._data.dtype), None)


class Embedding(Function):
    """weight[indices]: (num_embeddings, D) rows picked by an integer array of any shape."""

    def __init__(self, indices, scale=None):
        self.indices, self.scale = indices, scale

    def forward(self, weight):
        self.num_embeddings = weight.shape[0]
        xp = backend.xp
        flat = xp.take(weight, xp.reshape(self.indices, (-1,)), axis=0)
        return xp.reshape(flat, self.indices.shape + weight.shape[1:])

    def backward(self, gy):
        return EmbeddingScatter(self.indices, self.num_embeddings, self.scale)(gy)


class EmbeddingScatter(Function):
    """The adjoint of :class:`Embedding`: rows g (indices.shape + (D,)) added into a zero
    (num_embeddings, D) table at ``indices`` (times ``scale`` per position)."""

    def __init__(self, indices, num_embeddings, scale=None):
        self.indices, self.num_embeddings, self.scale = indices, num_embeddings, scale

    def forward(self, g):
        xp = backend.xp
        rows = backend.xp.reshape(g, (-1, g.shape[-1]))
        if self.scale is not None:
            rows = rows * backend.xp.astype(backend.xp.reshape(self.scale, (-1, 1)), g.dtype, copy=False)
        table = xp.zeros((self.num_embeddings, g.shape[-1]), dtype=g.dtype)
        backend_helpers.scatter_add(table, (backend.xp.reshape(self.indices, (-1,)),), rows)
        return table

    def backward(self, gy):
        return _scaled(Embedding(self.indices)(gy), self.scale)
