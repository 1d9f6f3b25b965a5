"""The named tuples that ops with two results return, like PyTorch's ``torch.return_types``:
``values, indices = x.max(dim=1)``, ``x.sort().indices``, ``torch.aminmax(x).min``."""
import collections


def _values_indices(name):
    """A named tuple type like PyTorch's ``torch.return_types.max``: ``(values, indices)``."""
    return collections.namedtuple(name, ["values", "indices"])


_PAIRS = ("max", "min", "median", "nanmedian", "mode", "sort", "topk", "kthvalue", "cummax",
          "cummin")

return_types = collections.namedtuple("return_types", _PAIRS + ("aminmax",))(
    *[_values_indices(n) for n in _PAIRS], collections.namedtuple("aminmax", ["min", "max"]))
