"""The engine's switches — grad mode, anomaly mode, the backward tracer — one set per thread.

As in PyTorch, ``with no_grad():`` in one thread does not stop another thread from recording
its graph: each thread starts with grad mode on and anomaly mode off.
"""
import functools
import threading


class _ThreadState(threading.local):
    """Per-thread engine switches; a new thread sees the defaults below."""

    def __init__(self):
        self.enabled = True          # record the graph (False inside no_grad)
        self.anomaly = False         # check every op for NaN/inf (detect_anomaly)
        self.tracer = None           # called for every node backward visits (explain)


state = _ThreadState()


class _ProcessHints:
    """Process-wide hints that spare every op a per-thread read: ``anomaly_used`` turns True
    the first time any thread turns anomaly mode on (and stays True)."""

    __slots__ = ("anomaly_used",)

    def __init__(self):
        self.anomaly_used = False


hints = _ProcessHints()


class _GradModeContext:
    """Base of no_grad/enable_grad: a context manager that is also a decorator."""

    mode = True

    def __enter__(self):
        self._previous = state.enabled
        state.enabled = self.mode
        return self

    def __exit__(self, *exc):
        state.enabled = self._previous
        return False

    def __call__(self, fn):
        context = type(self)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with context():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradModeContext):
    """Context manager and decorator: ops inside record no graph (inference, optimizer steps).

    >>> import chainrule
    >>> w = chainrule.tensor(1.0, requires_grad=True)
    >>> with chainrule.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """

    mode = False


class enable_grad(_GradModeContext):
    """Context manager and decorator: re-enable graph recording inside a ``no_grad`` block.

    >>> import chainrule
    >>> w = chainrule.tensor(1.0, requires_grad=True)
    >>> with chainrule.no_grad(), chainrule.enable_grad():
    ...     (w * 2).requires_grad
    True
    """

    mode = True


class inference_mode(_GradModeContext):
    """PyTorch's ``inference_mode``: here the same as ``no_grad`` (chainrule has no separate
    inference tensors). ``inference_mode(False)`` leaves grad mode as it is.

    >>> import chainrule
    >>> with chainrule.inference_mode():
    ...     chainrule.is_grad_enabled()
    False
    """

    def __init__(self, mode=True):
        self.enabled_inside = not mode

    def __enter__(self):
        self._previous = state.enabled
        if not self.enabled_inside:
            state.enabled = False
        return self

    def __call__(self, fn):
        enabled_inside = self.enabled_inside

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(not enabled_inside):
                return fn(*args, **kwargs)
        return wrapper


class set_grad_enabled(_GradModeContext):
    """``with set_grad_enabled(False):`` — grad mode chosen by a flag. Called as a plain
    function it sets the mode for this thread at once, as in PyTorch.

    >>> import chainrule
    >>> with chainrule.set_grad_enabled(False):
    ...     chainrule.is_grad_enabled()
    False
    """

    def __init__(self, mode):
        self.mode = bool(mode)
        self._previous = state.enabled
        state.enabled = self.mode      # PyTorch: takes effect on construction

    def __enter__(self):
        return self

    def __call__(self, fn):
        mode = self.mode
        state.enabled = self._previous   # used as a decorator: do not change the mode now

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)
        return wrapper


def is_grad_enabled():
    """Whether ops record the graph in this thread."""
    return state.enabled


def is_anomaly_enabled():
    """Whether ``detect_anomaly`` is on in this thread."""
    return state.anomaly
