"""The expression parser accepts arithmetic on named scalars and nothing else."""
import pytest

from chainrule.expression import ExpressionError, evaluate_expression


def test_arithmetic_and_functions():
    out, leaves = evaluate_expression("sigmoid(w*x + b) ** 2 / 2 - -1", {"w": 1, "x": 2, "b": 0})
    assert set(leaves) == {"w", "x", "b"}
    assert 0 < out.item()
    out, _ = evaluate_expression("2 * 3 + exp(0)", {})
    assert out.item() == 7.0


@pytest.mark.parametrize("text,message", [
    ("__import__('os').system('true')", "not allowed"),
    ("w._data", "Attribute"),
    ("w[0]", "Subscript"),
    ("open('f')", "call of 'open' is not allowed"),
    ("(lambda: 1)()", "not allowed"),
    ("[w for w in x]", "not allowed"),
    ("w % 2", "operator"),
    ("'text'", "not a number"),
    ("exp(w, x)", "one argument"),
    ("w +", "not valid arithmetic"),
    ("z * 2", "no value was given for it"),
])
def test_everything_else_is_rejected_with_a_clear_error(text, message):
    with pytest.raises(ExpressionError, match=message):
        evaluate_expression(text, {"w": 1.0, "x": 2.0})
