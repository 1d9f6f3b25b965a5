"""Keep freed memory for reuse: glibc's malloc thresholds, raised once when chainrule loads.

A training step frees and allocates the same large arrays every step (activations, their
gradients, im2col buffers). glibc serves blocks above its mmap threshold with fresh pages from
the kernel and hands them straight back when they are freed, and it returns the top of its heap
to the kernel as soon as more than 128 KiB is free there. Each step then pays page faults and
zero-filling for memory it gave back a moment before: measured on a LeNet-5 step (batch 64,
one BLAS thread), 23 ms of CPU time with glibc's defaults and 16 ms with the thresholds below
(PyTorch's step: about 18 ms). Raising ``M_MMAP_THRESHOLD`` (to its 64-bit maximum, 32 MiB)
and ``M_TRIM_THRESHOLD`` (to 1 GiB) makes glibc keep those blocks and hand them out again —
what ``MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824`` in the environment
would do. The peak memory of a step is unchanged; what is kept is reused by the next step.

It is applied once at ``import chainrule`` on Linux with glibc; ``CHAINRULE_KEEP_FREED_MEMORY=0``
in the environment leaves glibc's defaults alone. Elsewhere (macOS, Windows, musl) it does
nothing. PyTorch does not do this (docs/pytorch.md says why chainrule does).

>>> from chainrule import allocator
>>> allocator.keep_freed_memory() in (True, False)      # False where there is no glibc
True
"""
import ctypes
import os
import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3      # glibc's malloc.h
MMAP_THRESHOLD = 32 * 1024 * 1024                   # glibc's largest value on 64-bit Linux
TRIM_THRESHOLD = 1 << 30

#: whether :func:`keep_freed_memory` took effect in this process
applied = False


def keep_freed_memory(mmap_threshold=MMAP_THRESHOLD, trim_threshold=TRIM_THRESHOLD):
    """Ask glibc to keep freed blocks for reuse (see the module's docstring). Returns whether
    glibc accepted both settings; False (and nothing changed) without glibc."""
    global applied
    mallopt = _glibc_mallopt()
    if mallopt is None:
        return False
    applied = bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and \
        bool(mallopt(_M_TRIM_THRESHOLD, trim_threshold))
    return applied


def _glibc_mallopt():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        if not hasattr(libc, "gnu_get_libc_version"):     # musl and others: not glibc
            return None
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt


def apply_default():
    """What ``import chainrule`` does: keep freed memory unless the environment says
    ``CHAINRULE_KEEP_FREED_MEMORY=0``."""
    if os.environ.get("CHAINRULE_KEEP_FREED_MEMORY", "1").strip().lower() in ("0", "false",
                                                                             "no", "off"):
        return False
    return keep_freed_memory()
