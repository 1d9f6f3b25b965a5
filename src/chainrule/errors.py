"""chainrule's own errors. Every error the public API raises on purpose is one of these.

Each is also a subclass of the built-in exception a Python user would expect
(``ShapeError`` is a ``ValueError``), so ``except ValueError`` keeps working.
"""


class ChainruleError(Exception):
    """Base class of every error chainrule raises on purpose."""


class ShapeError(ChainruleError, ValueError):
    """Shapes that do not fit together: the message names the op and the shapes."""


class DTypeError(ChainruleError, TypeError):
    """A dtype an op cannot use (e.g. gradients of an integer tensor)."""


class GraphError(ChainruleError, RuntimeError):
    """Misuse of the autograd graph: backward twice, a non-scalar without a gradient, ..."""


class InplaceError(GraphError):
    """A tensor saved for backward was changed in place before backward ran."""


class ReadOnlyError(ChainruleError, RuntimeError):
    """An in-place change of a tensor whose memory cannot be written (an expanded view, where
    several elements share one memory location, or a read-only array)."""


class GradcheckError(ChainruleError, AssertionError):
    """An analytic gradient disagrees with the numerical one."""


class AnomalyError(ChainruleError, FloatingPointError):
    """``detect_anomaly`` found a NaN or inf: names the op and where it was created."""


class CheckpointError(ChainruleError, ValueError):
    """A checkpoint file that is missing, truncated, corrupted, foreign or does not fit the model."""


class ConfigError(ChainruleError, ValueError):
    """A bad option or configuration value (command line, TOML file, fit arguments)."""


class ArgumentError(ChainruleError, ValueError):
    """An argument with a value the function cannot use (a negative rate, an unknown name...)."""


class ArgumentTypeError(ChainruleError, TypeError):
    """An argument of the wrong kind (a module where parameters were expected, ...)."""


class DLPackError(ChainruleError, BufferError):
    """A tensor DLPack cannot carry (one that requires grad, a copy that was refused) or an
    object that is not a DLPack array (``BufferError``, as the protocol asks)."""


class IndexOutOfRangeError(ChainruleError, IndexError):
    """An index that does not fit the tensor's shape."""


class LinAlgError(ChainruleError, RuntimeError):
    """A matrix the linear-algebra op cannot use: singular (inv, solve), not positive-definite
    (cholesky), or a factorization that did not converge (PyTorch's torch.linalg.LinAlgError)."""


class DeviceError(ChainruleError, RuntimeError):
    """Tensors on two devices met in one op (the message names both), or a device this
    machine cannot use (CUDA without a GPU, a device type chainrule does not run on)."""


class CupyMissingError(DeviceError, ImportError):
    """CUDA was asked for where CuPy is not installed; the message says what to install
    (``pip install 'chainrule[gpu]'``). Also an ImportError, as every missing extra is."""
