"""PyTorch's ``torch.utils`` layout: ``chainrule.utils.data`` is ``torch.utils.data``."""
from . import data  # noqa: F401
