"""``chainrule.backends.mps``: Apple's GPUs, which chainrule does not run on.

>>> from chainrule.backends import mps
>>> mps.is_available(), mps.is_built()
(False, False)
"""


def is_available():
    """False: chainrule runs on the CPU and on NVIDIA GPUs (through CuPy), not on MPS."""
    return False


def is_built():
    return False
