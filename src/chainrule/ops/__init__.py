"""The ops: one Function subclass per gate, plus the functional API built on them."""
from .arithmetic import (abs, add, clamp, clip, cos, div, erf, exp, log, log1p, maximum,  # noqa
                         minimum, mul, neg, pow, reciprocal, rsqrt, sign, sin, sqrt, square, sub,
                         where)
from .activation import (elu, gelu, leaky_relu, log_softmax, relu, sigmoid, silu,  # noqa
                         softmax, softplus, tanh)
from .reduction import (all, any, argmax, argmin, logsumexp, max, mean, min, norm,  # noqa
                        prod, std, sum, var)
from .shape import (broadcast_to, cast, cat, chunk, clone, concatenate, expand, flatten,  # noqa
                    flip, pad, permute, repeat, reshape, split, squeeze, stack, sum_to,
                    swapaxes, tile, transpose, unsqueeze, view)
from .indexing import gather, index_select, one_hot, take_along_axis  # noqa
from .linalg import dot, einsum, linear, matmul, outer  # noqa
