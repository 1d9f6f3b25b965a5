"""A safe parser for arithmetic on named scalars: ``"(w*x - y)**2"`` -> a chainrule graph.

Only numbers, names given values, + - * / **, unary minus and a fixed list of functions are
allowed. It walks Python's syntax tree itself and never calls ``eval``: attribute access,
indexing, other calls, lambdas, comprehensions or imports are rejected with a clear error.

>>> out, leaves = evaluate_expression("(w*x - y)**2", {"w": 1, "x": 1, "y": 2})
>>> out.item()
1.0
"""
import ast

from .errors import ArgumentError

FUNCTIONS = ("exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "abs", "softplus",
             "square")
_BINARY = {ast.Add: "__add__", ast.Sub: "__sub__", ast.Mult: "__mul__", ast.Div: "__truediv__",
           ast.Pow: "__pow__"}


class ExpressionError(ArgumentError):
    """An expression that is not plain arithmetic on named scalars."""


def evaluate_expression(text, values, requires_grad=True, dtype="float64"):
    """Build the graph of ``text`` with ``values`` for its names.

    Returns ``(output, leaves)`` where ``leaves`` maps each name to its (named) tensor.
    """
    import chainrule
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise ExpressionError(f"expression {text!r} is not valid arithmetic: {error.msg}") \
            from None
    _validate(tree.body)
    leaves = {}
    for name in sorted(_names(tree.body)):
        if name not in values:
            raise ExpressionError(f"expression uses {name!r} but no value was given for it "
                                  f"(use --set {name}=VALUE)")
        leaves[name] = chainrule.tensor(float(values[name]), dtype=dtype,
                                        requires_grad=requires_grad, name=name)
    return _build(tree.body, leaves, chainrule), leaves


_ALLOWED = (ast.Constant, ast.Name, ast.BinOp, ast.UnaryOp, ast.Call, ast.Load, ast.operator,
            ast.unaryop)


def _validate(root):
    """Reject anything but arithmetic before any name is looked at."""
    for node in ast.walk(root):
        if not isinstance(node, _ALLOWED):
            raise ExpressionError(f"{type(node).__name__} ({ast.unparse(node)!r}) is not "
                                  "allowed: only numbers, names, + - * / ** and the functions "
                                  f"{', '.join(FUNCTIONS)}")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and
                                               node.func.id in FUNCTIONS):
            raise ExpressionError(f"call of {ast.unparse(node.func)!r} is not allowed: only "
                                  f"{', '.join(FUNCTIONS)} (with one argument)")
        if isinstance(node, ast.BinOp) and type(node.op) not in _BINARY:
            raise ExpressionError(f"operator in {ast.unparse(node)!r} is not allowed: only "
                                  "+ - * / **")
        if isinstance(node, ast.Constant) and (not isinstance(node.value, (int, float)) or
                                               isinstance(node.value, bool)):
            raise ExpressionError(f"constant {node.value!r} is not a number")


def _names(node):
    found = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and child.id not in FUNCTIONS:
            found.add(child.id)
    return found


def _build(node, leaves, chainrule):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
            and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id in leaves:
            return leaves[node.id]
        raise ExpressionError(f"{node.id!r} is a function; call it, e.g. {node.id}(x)")
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _build(node.left, leaves, chainrule), _build(node.right, leaves, chainrule)
        if not hasattr(left, "grad_fn") and not hasattr(right, "grad_fn"):
            left = chainrule.tensor(left, dtype="float64")
        if not hasattr(left, "grad_fn"):
            reflected = _BINARY[type(node.op)].replace("__", "__r", 1)
            return getattr(right, reflected)(left)
        return getattr(left, _BINARY[type(node.op)])(right)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _build(node.operand, leaves, chainrule)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
            node.func.id in FUNCTIONS and len(node.args) == 1 and not node.keywords:
        argument = _build(node.args[0], leaves, chainrule)
        if not hasattr(argument, "grad_fn"):
            argument = chainrule.tensor(argument, dtype="float64")
        return getattr(chainrule, node.func.id)(argument)
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
        raise ExpressionError(f"call of {name!r} is not allowed: only "
                              f"{', '.join(FUNCTIONS)} (with one argument)")
    raise ExpressionError(f"{type(node).__name__} ({ast.unparse(node)!r}) is not allowed: "
                          "only numbers, names, + - * / ** and the functions "
                          f"{', '.join(FUNCTIONS)}")
