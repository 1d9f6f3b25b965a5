"""Every error of the core names what is wrong."""
import pytest

import chainrule
from chainrule.errors import ChainruleError, DTypeError, GraphError, InplaceError, ShapeError


def test_broadcast_mismatch_names_op_and_shapes():
    with pytest.raises(ShapeError, match=r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast"):
        chainrule.ones(2, 3) + chainrule.ones(4)


def test_matmul_mismatch_names_op_and_shapes():
    with pytest.raises(ShapeError, match=r"matmul: shapes \(2, 3\) and \(4, 5\)"):
        chainrule.ones(2, 3) @ chainrule.ones(4, 5)


def test_errors_are_chainrule_errors_and_builtin_kinds():
    assert issubclass(ShapeError, ValueError) and issubclass(ShapeError, ChainruleError)
    assert issubclass(GraphError, RuntimeError)
    assert issubclass(DTypeError, TypeError)
    assert issubclass(InplaceError, GraphError)


def test_backward_twice_non_scalar_int_grad_dtype_inplace():
    x = chainrule.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(GraphError, match="second time"):
        y.backward()
    with pytest.raises(GraphError, match="scalar outputs"):
        (x * 2).backward()
    with pytest.raises(DTypeError, match="floating-point"):
        chainrule.tensor([1, 2], requires_grad=True)
    with pytest.raises(DTypeError, match="unsupported dtype"):
        chainrule.tensor(["a"])
    b = x * 2
    c = b * b
    b.add_(1)
    with pytest.raises(InplaceError, match="modified in place"):
        c.sum().backward()
