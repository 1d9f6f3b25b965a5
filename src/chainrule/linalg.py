"""``chainrule.linalg``: PyTorch's ``torch.linalg`` — decompositions, solvers, norms and
products of (batches of) matrices, each differentiable with PyTorch's gradient formulas.

The ops live in ``chainrule.ops.decompositions`` (inv ... matrix_rank), ``ops.reduction``
(the norms) and ``ops.linalg`` (the products); this module only names them as PyTorch does.

>>> import chainrule
>>> A = chainrule.tensor([[4.0, 1.0], [1.0, 3.0]], dtype="float64", requires_grad=True)
>>> round(chainrule.linalg.det(A).item(), 12)
11.0
>>> L = chainrule.linalg.cholesky(A)
>>> float((L @ L.mT - A).abs().max())
0.0
>>> chainrule.linalg.det(A).backward()          # d det / dA: the cofactor matrix
>>> A.grad.numpy().round(12).tolist()
[[3.0, -1.0], [-1.0, 4.0]]
"""
from .errors import LinAlgError  # noqa: F401
from .ops.decompositions import (EighResult, LstsqResult, QRResult, SlogdetResult,  # noqa: F401
                                 SVDResult, cholesky, det, eigh, eigvalsh, inv, lstsq,
                                 matrix_exp, matrix_power, matrix_rank, pinv, qr, slogdet,
                                 solve, solve_triangular, svd, svdvals)
from .ops import triangular as _triangular
from .ops.linalg import linalg_cross as cross, matmul, multi_dot, vecdot  # noqa: F401
from .ops.reduction import linalg_norm as norm, matrix_norm, vector_norm  # noqa: F401



def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """``torch.linalg.diagonal``: ``torch.diagonal`` with the last two dims as default.

    >>> import chainrule
    >>> chainrule.linalg.diagonal(chainrule.tensor([[1.0, 2.0], [3.0, 4.0]])).tolist()
    [1.0, 4.0]
    """
    return _triangular.diagonal(A, offset, dim1, dim2)


__all__ = ["LinAlgError", "cholesky", "cross", "det", "diagonal", "eigh", "eigvalsh", "inv",
           "lstsq", "matmul", "matrix_exp", "matrix_norm", "matrix_power", "matrix_rank",
           "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "solve_triangular", "svd",
           "svdvals", "vecdot", "vector_norm"]
