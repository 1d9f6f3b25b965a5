"""The expression parser accepts arithmetic on named scalars and nothing else, within bounds."""
import math
import re

import pytest

from chainrule.expression import (MAX_DEPTH, MAX_LENGTH, ExpressionError, display_name,
                                  evaluate_expression, parse_expression)


def test_arithmetic_and_functions():
    out, leaves = evaluate_expression("sigmoid(w*x + b) ** 2 / 2 - -1", {"w": 1, "x": 2, "b": 0})
    assert set(leaves) == {"w", "x", "b"}
    sigmoid_2 = 1 / (1 + math.exp(-2.0))
    assert out.item() == pytest.approx(sigmoid_2 ** 2 / 2 + 1, rel=1e-15, abs=0)
    out, _ = evaluate_expression("2 * 3 + exp(0)", {})
    assert out.item() == 7.0


@pytest.mark.parametrize("text,value", [
    ("-x**2", -9.0),                  # unary minus binds looser than **, as in Python
    ("2**-1", 0.5),
    ("2^3^2", 2.0 ** 9),              # ^ is power and right-associative, like **
    ("x^2", 9.0),
    ("10 - 4 - 3", 3.0),              # left-associative
    ("12 / 3 / 2", 2.0),
    ("-(x - 1) * +2", -4.0),
    ("1.5e1 + .5", 15.5),
])
def test_precedence_matches_python(text, value):
    out, _ = evaluate_expression(text, {"x": 3})
    assert out.item() == value


def test_assignments_name_intermediates_and_wrt_chooses_gradients():
    program = parse_expression("y_hat = w*x; s = y_hat - y; loss = s^2",
                               {"w": 1, "x": 1, "y": 2}, wrt=["w"])
    assert program.output_name == "loss" and program.output.item() == 1.0
    assert program.wrt == ["w"]
    assert not program.leaves["x"].requires_grad and not program.leaves["y"].requires_grad
    assert program.intermediates["s"].item() == -1.0
    assert set(program.names) == {"ŷ", "s", "loss", "w", "x", "y"}
    multi_line = parse_expression("s = w - 1\nloss = s * s", {"w": 3})
    assert multi_line.output.item() == 4.0
    assert display_name("y_hat") == "ŷ" and display_name("x_hat") == "x̂"


@pytest.mark.parametrize("text,message", [
    ("__import__('os').system('true')", "call of '__import__' is not allowed"),
    ("w._data", "attribute access"),
    ("w[0]", "indexing"),
    ("open('f')", "call of 'open' is not allowed"),
    ("(lambda: 1)()", "'lambda' is a Python keyword"),
    ("[w for w in x]", "indexing or lists"),
    ("w % 2", "operator '%'"),
    ("'text'", "not a number"),
    ("exp(w, x)", "exp takes one argument"),
    ("w +", "not valid arithmetic"),
    ("(w", "not closed"),
    ("w)", "without '('"),
    ("2w", "write 2*w"),
    ("w x", "missing operator"),
    ("exp", "is a function"),
    ("z * 2", "no value was given for it"),
    ("s * 2; s = w", "used before it is assigned"),
    ("s = w; s = 2*w; s", "assigned twice"),
    ("exp = w", "cannot be assigned"),
    ("w = 2", "also given a value"),
])
def test_everything_else_is_rejected_with_a_clear_error(text, message):
    with pytest.raises(ExpressionError, match=re.escape(message)):
        evaluate_expression(text, {"w": 1.0, "x": 2.0})


def test_wrt_must_name_variables():
    with pytest.raises(ExpressionError, match=r"--wrt b: not a variable .*its variables: w"):
        parse_expression("w * 2", {"w": 1}, wrt=["b"])


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "abc", 1e400])
def test_values_must_be_finite_numbers(value):
    with pytest.raises(ExpressionError, match="'w' must be"):
        parse_expression("w * 2", {"w": value})


def test_limits_are_clear_errors_not_recursion_or_overflow():
    with pytest.raises(ExpressionError, match=f"more than {MAX_DEPTH} levels"):
        evaluate_expression("-" * 1000 + "x", {"x": 1})
    with pytest.raises(ExpressionError, match=f"more than {MAX_DEPTH} levels"):
        evaluate_expression("(" * 1000 + "x" + ")" * 1000, {"x": 1})
    with pytest.raises(ExpressionError, match="has 400 characters; the limit is 40"):
        evaluate_expression("1" * 400, {})
    with pytest.raises(ExpressionError, match="beyond float64's range"):
        evaluate_expression("1e400 * x", {"x": 1})
    with pytest.raises(ExpressionError, match=f"the limit is {MAX_LENGTH:,}"):
        evaluate_expression("x+" * MAX_LENGTH + "x", {"x": 1})


def test_a_sum_of_3000_terms_is_evaluated_without_recursion():
    out, leaves = evaluate_expression("+".join(["x"] * 3000), {"x": 0.5})
    assert out.item() == 1500.0
    out.backward()
    assert leaves["x"].grad.item() == 3000.0


def test_expressions_without_variables_have_a_value_even_inf():
    out, leaves = evaluate_expression("1/0", {})
    assert leaves == {} and out.item() == math.inf and out.grad_fn is None
    out, _ = evaluate_expression("exp(1000)", {})
    assert out.item() == math.inf
