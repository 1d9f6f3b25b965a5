"""Reverse-mode automatic differentiation: the engine, grad, functional transforms, checks."""
from .engine import (backward, detect_anomaly, enable_grad, grad, is_grad_enabled,  # noqa
                     no_grad, set_grad_enabled)
from .function import Function  # noqa
from . import functional  # noqa
from .gradcheck import gradcheck, gradgradcheck, numerical_grad  # noqa
