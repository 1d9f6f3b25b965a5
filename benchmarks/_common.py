"""Shared benchmark plumbing: timing medians, the BLAS report, PyTorch when installed."""
import os
import statistics
import time


def median_time(fn, repeat=7, warmup=2):
    """Median wall time of ``fn()`` over ``repeat`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def blas_report():
    """Which BLAS kernel runs, and whether the machine's OPENBLAS_* variables are set."""
    try:
        from threadpoolctl import threadpool_info
        info = [f"{d.get('internal_api')} {d.get('version')} ({d.get('architecture')}, "
                f"{d.get('num_threads')} threads)" for d in threadpool_info()
                if d.get("user_api") == "blas"]
    except ImportError:
        info = ["threadpoolctl not installed"]
    env = {k: os.environ.get(k, "<unset>") for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    return f"BLAS: {'; '.join(info) or 'unknown'} | env: {env}"


def torch_or_none(threads=None):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads or os.cpu_count() or 1)
    return torch


def ratio(a, b):
    return float("nan") if not b else a / b
