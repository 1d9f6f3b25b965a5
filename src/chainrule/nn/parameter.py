"""Parameter: a Tensor that a Module registers as one of its weights."""
from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf tensor that requires grad and is collected by ``Module.parameters()``.

    >>> import chainrule
    >>> p = chainrule.nn.Parameter(chainrule.zeros(2))
    >>> p.requires_grad, p.is_leaf
    (True, True)
    """

    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
