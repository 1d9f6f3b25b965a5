"""The ops: one Function subclass per gate, plus the functional API built on them."""
from .arithmetic import (abs, add, clamp, clip, cos, div, eq, erf, exp, ge, gt, le, log,  # noqa
                         log1p, lt, maximum, minimum, mul, ne, neg, pow, reciprocal, rsqrt, sign,
                         sin, sqrt, square, sub, true_divide, where)
from .activation import (elu, gelu, leaky_relu, log_softmax, relu, sigmoid, silu,  # noqa
                         softmax, softplus, tanh)
from .reduction import (all, amax, amin, any, argmax, argmin, logsumexp, max, mean,  # noqa
                        min, norm, prod, return_types, std, sum, var)
from .shape import (broadcast_to, cast, cat, chunk, clone, concatenate, contiguous,  # noqa
                    expand, flatten, flip, pad, permute, repeat, reshape, split, squeeze, stack,
                    sum_to, swapaxes, tile, transpose, unsqueeze, view)
from .indexing import gather, index_select, one_hot, take_along_axis  # noqa
from .linalg import dot, einsum, linear, matmul, outer  # noqa

# ---- elementwise, logical and bitwise (issue 19.1)
from .arithmetic import clamp_min, clamp_max  # noqa
from .arithmetic import sign as sgn  # noqa  (sgn is sign for real tensors)
from .arithmetic import div as divide  # noqa
from .elementwise import (acos, acosh, arccos, arccosh, arcsin, arcsinh, arctan,  # noqa
                          arctan2, arctanh, asin, asinh, atan, atan2, atanh, ceil, copysign,
                          cosh, exp2, expm1, fix, float_power, floor, floor_divide, fmod, frac,
                          hypot, lerp, log10, log2, logaddexp, logaddexp2, logit, nan_to_num,
                          remainder, round, sinc, sinh, tan, trunc, xlogy)
from .special import digamma, erfc, erfinv, lgamma, polygamma  # noqa
from .logical import (allclose, bitwise_and, bitwise_left_shift, bitwise_not,  # noqa
                      bitwise_or, bitwise_right_shift, bitwise_xor, equal, isclose, isfinite,
                      isinf, isnan, isneginf, isposinf, logical_and, logical_not, logical_or,
                      logical_xor, signbit)

# ---- cumulative, sorting, scatter/gather and masks (issue 19.2-3)
from .cumulative import cummax, cummin, cumprod, cumsum, diff, logcumsumexp  # noqa
from .sorting import (argsort, bucketize, kthvalue, median, mode, msort, nanmedian,  # noqa
                      searchsorted, sort, topk, unique, unique_consecutive)
from .scattering import (argwhere, index_add, index_copy, index_fill, index_put,  # noqa
                         masked_fill, masked_scatter, masked_select, nonzero, put, scatter,
                         scatter_add, scatter_reduce, take, take_along_dim, where)

# ---- shape and construction (issue 19.4)
from .triangular import diag, diag_embed, diagflat, diagonal, trace, tril, triu  # noqa
from .shape import (concat, dsplit, fliplr, flipud, hsplit, movedim, moveaxis,  # noqa
                    narrow, ravel, roll, rot90, select, swapdims, tensor_split, unbind,
                    unflatten, vsplit)
from .construction import (atleast_1d, atleast_2d, atleast_3d, block_diag,  # noqa
                           broadcast_shapes, broadcast_tensors, cartesian_prod, column_stack,
                           dstack, hstack, meshgrid, repeat_interleave, row_stack, vstack)
from .distance import cdist  # noqa

# ---- reductions (issue 19.5)
from .reduction import (aminmax, count_nonzero, nanmean, nanquantile, nansum,  # noqa
                        quantile, std_mean, var_mean)
from .decompositions import (cholesky_solve, det, inverse, logdet, matrix_exp,  # noqa
                             matrix_power, pinverse)
from .decompositions import torch_slogdet as slogdet, torch_svd as svd  # noqa
from .linalg import (addbmm, addmm, addmv, addr, baddbmm, bmm, chain_matmul, cross,  # noqa
                     inner, kron, mm, mv, tensordot, vdot)

# ---- random sampling (issue 19.7; normal with two numbers is a factory: creation.normal)
from .sampling import bernoulli, multinomial, poisson  # noqa

# ---- vocabulary gaps (issue 19: the remaining common names)
from .elementwise import (addcdiv, addcmul, deg2rad, fmax, fmin, frexp, gcd,  # noqa
                          heaviside, isreal, lcm, ldexp, nextafter, rad2deg)
from .special import i0  # noqa
from .reduction import bincount, corrcoef, cov, dist, histc, renorm  # noqa
from .construction import combinations  # noqa
from .scattering import diagonal_scatter, select_scatter, slice_scatter  # noqa
from .distance import pdist  # noqa
from .aliases import *  # noqa: F401,F403  (abs_, clamp_, ..., detach, get/set_num_threads)
