"""A safe, bounded parser for arithmetic on named scalars: ``"(w*x - y)^2"`` -> a chainrule graph.

Only numbers, names given values, ``+ - * / ** ^`` (``^`` is power, as the seeds write x^2),
unary signs, parentheses, a fixed list of one-argument functions and assignments that name
intermediates (``"y_hat = w*x; s = y_hat - y; loss = s^2"``) are allowed. The text is read by
a small tokenizer and an operator-precedence parser of its own — never ``eval``, and no
recursion, so no input can exhaust the stack. Limits on the length, the nesting depth and
the size of a number keep every input's cost bounded; anything else is an ExpressionError
that says what is wrong.

>>> out, leaves = evaluate_expression("(w*x - y)^2", {"w": 1, "x": 1, "y": 2})
>>> out.item(), sorted(leaves)
(1.0, ['w', 'x', 'y'])
>>> program = parse_expression("y_hat = w*x; s = y_hat - y; loss = s**2",
...                            {"w": 1, "x": 1, "y": 2}, wrt=["w"])
>>> program.output_name, sorted(program.intermediates), program.names["ŷ"].item()
('loss', ['loss', 's', 'y_hat'], 1.0)
"""
import keyword
import math
import re
import unicodedata

import numpy

from . import ops
from .creation import tensor
from .errors import ArgumentError

FUNCTIONS = ("exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "abs", "softplus",
             "square")
MAX_LENGTH = 10_000        # characters of expression text
MAX_DEPTH = 100            # open parentheses, calls and pending operators at any point
MAX_NUMBER_LENGTH = 40     # characters of one number literal

_ALLOWED_TEXT = "only numbers, names, + - * / ** ^, parentheses and the functions " + \
    ", ".join(FUNCTIONS)
_TOKEN = re.compile(r"""
    (?P<space>[ \t\r]+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[^\W\d]\w*)
  | (?P<op>\*\*|[-+*/^(),=;\n])
  | (?P<string>'[^'\n]*'?|"[^"\n]*"?)
  | (?P<other>.)
""", re.VERBOSE)
_BINARY = {"+": (1, "left"), "-": (1, "left"), "*": (2, "left"), "/": (2, "left"),
           "**": (4, "right"), "^": (4, "right")}
_UNARY_PRECEDENCE = 3      # -x**2 is -(x**2); 2**-1 is 2**(-1): as in Python


class ExpressionError(ArgumentError):
    """An expression that is not plain arithmetic on named scalars, or is too large."""


class Program:
    """A parsed expression: its output tensor, its variables (leaves) and named intermediates.

    ``names`` maps display names (``y_hat`` shown as ŷ) to tensors, ready for
    ``chainrule.explain(program.output, program.names)``.
    """

    def __init__(self, text, output, leaves, intermediates, output_name):
        self.text, self.output, self.output_name = text, output, output_name
        self.leaves, self.intermediates = leaves, intermediates

    @property
    def names(self):
        named = {display_name(k): v for k, v in self.intermediates.items()
                 if getattr(v, "grad_fn", None) is not None}
        named.update({display_name(k): v for k, v in self.leaves.items()})
        return named

    @property
    def wrt(self):
        """The variables that get gradients."""
        return [name for name, leaf in self.leaves.items() if leaf.requires_grad]

    def __repr__(self):
        return f"<Program {self.text!r}>"


def display_name(name):
    """How a name is shown: ``y_hat`` -> ŷ (a letter with a hat), others unchanged.

    >>> display_name("y_hat"), display_name("loss")
    ('ŷ', 'loss')
    """
    if name.endswith("_hat") and len(name) == 5:
        return unicodedata.normalize("NFC", name[0] + "\u0302")
    return name


def evaluate_expression(text, values, requires_grad=True, dtype="float64"):
    """Build the graph of ``text`` with ``values`` for its names.

    Returns ``(output, leaves)`` where ``leaves`` maps each name to its (named) tensor.
    """
    program = parse_expression(text, values, wrt=None if requires_grad else [], dtype=dtype)
    return program.output, program.leaves


def parse_expression(text, values, wrt=None, dtype="float64"):
    """Parse and evaluate ``text``; ``wrt``: the names that get gradients (None: all).

    Statements are separated by ``;`` or new lines; ``name = expression`` names an
    intermediate; the last statement is the output.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(text):,} characters long; the limit is "
                              f"{MAX_LENGTH:,}")
    statements = _statements(_tokens(text))
    if not statements:
        raise ExpressionError("the expression is empty")
    leaves = _leaves(statements, values, wrt, dtype)
    bound = dict(leaves)
    intermediates = {}
    with numpy.errstate(all="ignore"):        # 1/0, exp(1000): inf, reported by the caller
        for target, rpn in statements:
            value = _evaluate(rpn, bound)
            if target is not None:
                if hasattr(value, "grad_fn") and value.grad_fn is not None and not value.name:
                    value.name = target
                bound[target] = intermediates[target] = value
    if not hasattr(value, "grad_fn"):
        value = tensor(value, dtype=dtype)
    output_name = statements[-1][0] if statements[-1][0] is not None else None
    return Program(text, value, leaves, intermediates, output_name)


# ---------------------------------------------------------------- tokens

def _tokens(text):
    """(kind, text, position) for each token; rejects what arithmetic never contains."""
    tokens, previous = [], None
    for match in _TOKEN.finditer(text):
        kind, value, at = match.lastgroup, match.group(), match.start()
        if kind == "space":
            continue
        if kind == "number":
            _check_number(value)
            if previous is not None and previous[0] in ("number", "name"):
                raise ExpressionError(f"missing operator between {previous[1]!r} and {value!r}")
        elif kind == "name":
            if keyword.iskeyword(value):
                kind, value = "other", f"{value!r} is a Python keyword; {_ALLOWED_TEXT} are " \
                    "allowed"
            if previous is not None and previous[0] == "number":
                raise ExpressionError(f"missing operator in {previous[1] + value!r}: write "
                                      f"{previous[1]}*{value}")
        elif kind == "other":
            value = _unexpected(value, text, at)      # reported where the parser meets it
        tokens.append((kind, value, at))
        previous = (kind, value)
    return tokens


def _check_number(text):
    if len(text) > MAX_NUMBER_LENGTH:
        raise ExpressionError(f"the number {text[:12]}... has {len(text)} characters; the limit "
                              f"is {MAX_NUMBER_LENGTH}")
    if not math.isfinite(float(text)):
        raise ExpressionError(f"the number {text} is beyond float64's range (about 1.8e308)")


def _unexpected(char, text, at):
    if char == ".":
        return f"attribute access ({text[max(0, at - 8):at + 8].strip()!r}) is not allowed; " \
               f"{_ALLOWED_TEXT} are allowed"
    if char == "[":
        return f"indexing or lists ('[' at character {at + 1}) are not allowed; " \
               f"{_ALLOWED_TEXT} are allowed"
    if char in "%@&|<>~!":
        return f"operator {char!r} is not allowed: only + - * / ** ^"
    return f"{char!r} (at character {at + 1}) is not allowed; {_ALLOWED_TEXT} are allowed"


# ---------------------------------------------------------------- statements

def _statements(tokens):
    """Split at ; and new lines; each part -> (target name or None, its formula in RPN)."""
    statements, current = [], []
    for token in tokens + [("op", ";", None)]:
        if token[0] == "op" and token[1] in (";", "\n"):
            if current:
                statements.append(_statement(current))
            current = []
        else:
            current.append(token)
    return statements


def _statement(tokens):
    target = None
    if len(tokens) >= 2 and tokens[0][0] == "name" and tokens[1][1] == "=":
        target = tokens[0][1]
        if target in FUNCTIONS:
            raise ExpressionError(f"{target!r} is a function and cannot be assigned to")
        tokens = tokens[2:]
        if not tokens:
            raise ExpressionError(f"{target} = ...: nothing to assign")
    for kind, value, at in tokens:
        if value == "=":
            raise ExpressionError("'=' only names an intermediate at the start of a statement "
                                  "(s = w*x - y; s^2)")
    return target, _to_rpn(tokens)


def _to_rpn(tokens):
    """Operator precedence by the shunting-yard algorithm: a loop and a stack, no recursion.

    The stack holds operators, '(' and function calls; its height is the nesting depth."""
    output, stack = [], []
    expect_operand = True
    for i, (kind, value, at) in enumerate(tokens):
        if kind == "other":
            raise ExpressionError(value)
        follows = tokens[i + 1][1] if i + 1 < len(tokens) else None
        if expect_operand:
            if kind == "number":
                output.append(("number", float(value)))
                expect_operand = False
            elif kind == "string":
                raise ExpressionError(f"text in quotes ({value}) is not a number; "
                                      f"{_ALLOWED_TEXT} are allowed")
            elif kind == "name" and follows == "(":
                if value not in FUNCTIONS:
                    raise ExpressionError(f"call of {value!r} is not allowed: only "
                                          f"{', '.join(FUNCTIONS)} (with one argument)")
                stack.append(("call", value))
            elif kind == "name":
                if value in FUNCTIONS:
                    raise ExpressionError(f"{value!r} is a function; call it, e.g. {value}(x)")
                output.append(("name", value))
                expect_operand = False
            elif value == "(":
                stack.append(("paren", "("))
            elif value in ("-", "+"):
                stack.append(("unary", value))
            else:
                raise ExpressionError(_missing_operand(value, tokens, i))
        else:
            if value in _BINARY:
                precedence, side = _BINARY[value]
                while stack and stack[-1][0] in ("binary", "unary"):
                    top = _BINARY[stack[-1][1]][0] if stack[-1][0] == "binary" else \
                        _UNARY_PRECEDENCE
                    if top > precedence or (top == precedence and side == "left"):
                        output.append(stack.pop())
                    else:
                        break
                stack.append(("binary", value))
                expect_operand = True
            elif value == ")":
                _close(stack, output)
            elif value == ",":
                call = next((v for k, v in reversed(stack) if k == "call"), None)
                raise ExpressionError(f"{call or 'a function'} takes one argument" if call else
                                      "',' is not allowed outside a call; " + _ALLOWED_TEXT)
            elif value == "(":
                name = tokens[i - 1][1]
                raise ExpressionError(f"call of {name!r} is not allowed: only "
                                      f"{', '.join(FUNCTIONS)} (with one argument)")
            else:
                raise ExpressionError(f"missing operator before {value!r}")
        if len(stack) > MAX_DEPTH:
            raise ExpressionError(f"the expression nests more than {MAX_DEPTH} levels deep "
                                  "(parentheses, calls, signs and ** chains); simplify it or "
                                  "name parts with assignments")
    if expect_operand:
        last = tokens[-1][1] if tokens else "nothing"
        raise ExpressionError(f"the expression is not valid arithmetic: it ends with {last!r} "
                              "where a number or name is expected")
    while stack:
        kind, value = stack.pop()
        if kind in ("paren", "call"):
            raise ExpressionError("the expression is not valid arithmetic: a '(' is not closed")
        output.append((kind, value))
    return output


def _close(stack, output):
    while stack and stack[-1][0] in ("binary", "unary"):
        output.append(stack.pop())
    if not stack:
        raise ExpressionError("the expression is not valid arithmetic: ')' without '('")
    stack.pop()                                          # the '('
    if stack and stack[-1][0] == "call":
        output.append(stack.pop())


def _missing_operand(value, tokens, i):
    if value == ")":
        return "the expression is not valid arithmetic: '()' or an operator before ')' has " \
               "nothing to work on"
    if value == ",":
        return "the expression is not valid arithmetic: ',' where a number or name is expected"
    where = f"after {tokens[i - 1][1]!r}" if i else "at the start"
    return f"the expression is not valid arithmetic: {value!r} {where} needs a number or name " \
           "before it"


# ---------------------------------------------------------------- values

def _leaves(statements, values, wrt, dtype):
    """One named tensor per variable: a name used before any assignment gives it a value."""
    assigned, variables = set(), []
    for target, rpn in statements:
        for kind, value in rpn:
            if kind == "name" and value not in assigned and value not in variables:
                if value in (t for t, _ in statements):
                    raise ExpressionError(f"{value!r} is used before it is assigned")
                variables.append(value)
        if target is not None:
            if target in assigned:
                raise ExpressionError(f"{target!r} is assigned twice; give each intermediate "
                                      "its own name")
            if target in values and target not in variables:
                raise ExpressionError(f"{target!r} is assigned in the expression and also given "
                                      "a value")
            assigned.add(target)
    for name in variables:
        if name not in values:
            raise ExpressionError(f"expression uses {name!r} but no value was given for it "
                                  f"(use --set {name}=VALUE)")
    wanted = variables if wrt is None else list(wrt)
    unknown = [name for name in wanted if name not in variables]
    if unknown:
        raise ExpressionError(f"--wrt {', '.join(unknown)}: not a variable of the expression "
                              f"(its variables: {', '.join(variables) or 'none'})")
    leaves = {}
    for name in sorted(variables):
        value = _finite_number(name, values[name])
        leaves[name] = tensor(value, dtype=dtype, requires_grad=name in wanted, name=name)
    return leaves


def _finite_number(name, value):
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ExpressionError(f"the value of {name!r} must be a real number, got {value!r}") \
            from None
    if not math.isfinite(number):
        raise ExpressionError(f"the value of {name!r} must be finite, got {value!r}")
    return number


def _evaluate(rpn, bound):
    stack = []
    for kind, value in rpn:
        if kind == "number":
            stack.append(value)
        elif kind == "name":
            stack.append(bound[value])
        elif kind == "unary":
            operand = stack.pop()
            stack.append(-operand if value == "-" else operand)
        elif kind == "call":
            argument = stack.pop()
            if not hasattr(argument, "grad_fn"):
                argument = tensor(argument, dtype="float64")
            stack.append(getattr(ops, value)(argument))
        else:
            right = stack.pop()
            stack.append(_binary(value, stack.pop(), right))
    return stack.pop()


def _binary(op, left, right):
    if not hasattr(left, "grad_fn") and not hasattr(right, "grad_fn"):
        left = tensor(left, dtype="float64")   # numbers only: numpy's inf for 1/0
    if op in ("**", "^"):
        return left ** right
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    return left / right
