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


def interleaved_medians(functions, repeat=7, warmup=2):
    """Median time of each function, timing them in turn round after round, so a slow
    phase of a noisy machine hits every contender alike."""
    for fn in functions.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in functions}
    for _ in range(repeat):
        for name, fn in functions.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


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
    """PyTorch with ``threads`` threads (default: OMP_NUM_THREADS if set, else every core), or
    None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads or int(os.environ.get("OMP_NUM_THREADS", 0))
                          or os.cpu_count() or 1)
    return torch


def ratio(a, b):
    return float("nan") if not b else a / b


def isolated(module, function, *args, threads=None):
    """Run ``module.function(*args)`` in a fresh Python process and return its (JSON) result,
    so thread pools of different libraries (OpenBLAS, PyTorch's OpenMP) never compete.
    ``threads`` caps both libraries' thread pools in that process (None: as configured).
    A failing child's error output is shown."""
    import json
    import subprocess
    import sys
    here = os.path.dirname(os.path.abspath(__file__))
    code = (f"import sys, json; sys.path.insert(0, {here!r}); import {module}; "
            f"print(json.dumps({module}.{function}(*{list(args)!r})))")
    env = dict(os.environ)
    if threads is not None:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[name] = str(threads)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if out.returncode:
        raise RuntimeError(f"{module}.{function}{tuple(args)} failed in its process:\n"
                           + out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def isolated_medians(module, function, contenders, args, rounds):
    """Median of ``module.function(name, *args)`` per contender, each call in a fresh
    process, taking the contenders in turn for ``rounds`` rounds (None results are skipped)."""
    import statistics
    values = {}
    for _ in range(rounds):
        for name in contenders:
            value = isolated(module, function, name, *args)
            if value is not None:
                values.setdefault(name, []).append(value)
    return {name: statistics.median(found) for name, found in values.items()}
