"""ONNX exporters of the elementwise ops of issue 19.1 (merged into ``onnx.EXPORTERS``).

Ops with an ONNX operator map onto it (Tan, Asin, ..., Floor, Ceil, Round); the others are
written as small compositions of standard operators (log2 as Log / ln 2, remainder from Mod
with fmod=1, nan_to_num with IsNaN/IsInf/Where). Ops with no faithful composition — atan2,
copysign (ONNX cannot see the sign of -0.0), erfinv, lgamma, digamma, polygamma, floor
division of integers — are left out, so exporting them raises UnsupportedOpError.
"""
import math

import numpy

from ..ops import arithmetic, elementwise, special


def _same(onnx_op):
    def emit(b, fn, x, batch):
        return b.node(onnx_op, x)
    return emit


def _divided_by(constant, inner):
    def emit(b, fn, x, batch):
        return b.node("Div", [b.node(inner, x), b.scalar(constant)])
    return emit


def _round(b, fn, x, batch):
    if fn.decimals == 0:
        return b.node("Round", x)
    scale = b.scalar(10.0 ** abs(fn.decimals))
    if fn.decimals > 0:
        return b.node("Div", [b.node("Round", [b.node("Mul", [x[0], scale])]), scale])
    return b.node("Mul", [b.node("Round", [b.node("Div", [x[0], scale])]), scale])


def _trunc_of(b, name):
    return b.node("Mul", [b.node("Sign", [name]), b.node("Floor", [b.node("Abs", [name])])])


def _trunc(b, fn, x, batch):
    return _trunc_of(b, x[0])


def _rounding_divide(b, fn, x, batch):
    quotient = b.node("Div", x)
    return b.node("Floor", [quotient]) if fn.mode == "floor" else _trunc_of(b, quotient)


def _floor_divide(b, fn, x, batch):
    return b.node("Floor", [b.node("Div", x)])


def _fmod(b, fn, x, batch):
    return b.node("Mod", x, fmod=1)


def _remainder(b, fn, x, batch):
    """fmod, moved by the divisor where its sign differs from the divisor's (PyTorch's)."""
    mod = b.node("Mod", x, fmod=1)
    zero = b.scalar(0.0)
    nonzero = b.node("Not", [b.node("Equal", [mod, zero])])
    signs_differ = b.node("Xor", [b.node("Less", [x[1], zero]), b.node("Less", [mod, zero])])
    return b.node("Where", [b.node("And", [nonzero, signs_differ]),
                            b.node("Add", [mod, x[1]]), mod])


def _exp2(b, fn, x, batch):
    return b.node("Pow", [b.scalar(2.0), x[0]])


def _expm1(b, fn, x, batch):
    return b.node("Sub", [b.node("Exp", x), b.scalar(1.0)])


def _sinc(b, fn, x, batch):
    scaled = b.node("Mul", [x[0], b.scalar(math.pi)])
    ratio = b.node("Div", [b.node("Sin", [scaled]), scaled])
    return b.node("Where", [b.node("Equal", [x[0], b.scalar(0.0)]), b.scalar(1.0), ratio])


def _xlogy(b, fn, x, batch):
    product = b.node("Mul", [x[0], b.node("Log", [x[1]])])
    zero = b.scalar(0.0)
    plain_zero = b.node("And", [b.node("Equal", [x[0], zero]),
                                b.node("Not", [b.node("IsNaN", [x[1]])])])
    return b.node("Where", [plain_zero, zero, product])


def _logit(b, fn, x, batch):
    p = x[0]
    if fn.eps is not None and fn.eps >= 0:
        p = b.node("Clip", [p, b.scalar(fn.eps), b.scalar(1 - fn.eps)])
    return b.node("Log", [b.node("Div", [p, b.node("Sub", [b.scalar(1.0), p])])])


def _lerp(b, fn, x, batch):
    start, end, weight = x
    return b.node("Add", [start, b.node("Mul", [weight, b.node("Sub", [end, start])])])


def _log_add_exp(base):
    def emit(b, fn, x, batch):
        largest = b.node("Max", x)
        gap = b.node("Neg", [b.node("Abs", [b.node("Sub", x)])])
        if base == 2:
            tail = b.node("Div", [b.node("Log", [b.node("Add", [b.scalar(1.0), b.node(
                "Pow", [b.scalar(2.0), gap])])]), b.scalar(math.log(2.0))])
        else:
            tail = b.node("Log", [b.node("Add", [b.scalar(1.0), b.node("Exp", [gap])])])
        return b.node("Add", [largest, tail])
    return emit


def _hypot(b, fn, x, batch):
    return b.node("Sqrt", [b.node("Add", [b.node("Mul", [x[0], x[0]]),
                                          b.node("Mul", [x[1], x[1]])])])


def _nan_to_num(b, fn, x, batch):
    info = numpy.finfo(b.dtype)
    posinf = info.max if fn.posinf is None else fn.posinf
    neginf = info.min if fn.neginf is None else fn.neginf
    out = b.node("Where", [b.node("IsInf", x, detect_negative=0), b.scalar(posinf), x[0]])
    out = b.node("Where", [b.node("IsInf", x, detect_positive=0), b.scalar(neginf), out])
    return b.node("Where", [b.node("IsNaN", x), b.scalar(fn.nan), out])


def _clamp_tensor(b, fn, x, batch):
    return b.node("Min", [b.node("Max", [x[0], x[1]]), x[2]])


def _erfc(b, fn, x, batch):
    return b.node("Sub", [b.scalar(1.0), b.node("Erf", x)])


EXPORTERS = {
    elementwise.Tan: _same("Tan"), elementwise.Asin: _same("Asin"),
    elementwise.Acos: _same("Acos"), elementwise.Atan: _same("Atan"),
    elementwise.Sinh: _same("Sinh"), elementwise.Cosh: _same("Cosh"),
    elementwise.Asinh: _same("Asinh"), elementwise.Acosh: _same("Acosh"),
    elementwise.Atanh: _same("Atanh"), elementwise.Floor: _same("Floor"),
    elementwise.Ceil: _same("Ceil"), elementwise.Round: _round, elementwise.Trunc: _trunc,
    elementwise.FloorDivide: _floor_divide, elementwise.Remainder: _remainder,
    elementwise.Fmod: _fmod, arithmetic.RoundingDivide: _rounding_divide,
    elementwise.Log2: _divided_by(math.log(2.0), "Log"),
    elementwise.Log10: _divided_by(math.log(10.0), "Log"),
    elementwise.Exp2: _exp2, elementwise.Expm1: _expm1, elementwise.Sinc: _sinc,
    elementwise.Xlogy: _xlogy, elementwise.Logit: _logit, elementwise.Lerp: _lerp,
    elementwise.LogAddExp: _log_add_exp(math.e), elementwise.LogAddExp2: _log_add_exp(2),
    elementwise.Hypot: _hypot, elementwise.NanToNum: _nan_to_num,
    arithmetic.ClampTensor: _clamp_tensor, arithmetic.ClampMinTensor: _same("Max"),
    arithmetic.ClampMaxTensor: _same("Min"), special.Erfc: _erfc,
}
