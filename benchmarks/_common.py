"""Shared benchmark plumbing: timing medians, the BLAS report, PyTorch when installed."""
import os
import statistics
import time

#: The clock every timing reads: wall time, or with BENCH_CLOCK=cpu the process's CPU time
#: (user + system, all its threads). On a machine shared with other jobs, CPU time of a
#: single-threaded run (OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=1) measures the work done
#: without the waits for a core; run_all.py --clock cpu sets all three.
CLOCK = os.environ.get("BENCH_CLOCK", "wall")
clock = time.process_time if CLOCK == "cpu" else time.perf_counter


def median_time(fn, repeat=7, warmup=2):
    """Median wall time of ``fn()`` over ``repeat`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = clock()
        fn()
        times.append(clock() - start)
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
            start = clock()
            fn()
            times[name].append(clock() - start)
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
    return f"BLAS: {'; '.join(info) or 'unknown'} | env: {env} | clock: {CLOCK}"


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


#: set by ``options()`` for ``--quick``: every "isolated" call runs in this process instead (a
#: smoke test of the cross-checks and the timing code; its speeds say nothing)
IN_PROCESS = False


def isolated(module, function, *args, threads=None):
    """Run ``module.function(*args)`` in a fresh Python process and return its (JSON) result,
    so thread pools of different libraries (OpenBLAS, PyTorch's OpenMP) never compete.
    ``threads`` caps both libraries' thread pools in that process (None: as configured).
    A failing child's error output is shown."""
    import json
    import subprocess
    import sys
    if IN_PROCESS:
        import importlib
        return json.loads(json.dumps(getattr(importlib.import_module(module), function)(*args)))
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


# ---------------------------------------------------------------- the pattern every benchmark
# follows: cross-check first, then each library in its own process, rounds taken in turn

def options(argv=None):
    """``--quick``, ``--rounds N`` and ``--threads N`` from the command line (``--quick``
    also makes every timing run in this one process: see IN_PROCESS)."""
    import sys
    global IN_PROCESS
    argv = sys.argv[1:] if argv is None else argv
    IN_PROCESS = "--quick" in argv

    def number(name):
        return int(argv[argv.index(name) + 1]) if name in argv else None
    return {"quick": "--quick" in argv, "rounds": number("--rounds"),
            "threads": number("--threads")}


def where(rounds):
    """How the contenders are timed, for a benchmark's header line."""
    if IN_PROCESS:
        return "--quick: everything in one process, speeds not meaningful"
    return (f"each contender in its own process (started once), {rounds} round(s) taken in turn; "
            "medians of per-round ratios")


def relative_difference(mine, reference):
    """Largest absolute difference over the reference's largest magnitude (arrays or numbers)."""
    import numpy as np
    mine, reference = np.asarray(mine, np.float64), np.asarray(reference, np.float64)
    return float(np.abs(mine - reference).max(initial=0.0)
                 / (np.abs(reference).max(initial=0.0) + 1e-30))


def worst_gradient_difference(ours, theirs):
    """The largest relative gradient difference between two lists of (name, array) pairs."""
    theirs = dict(theirs)
    return max(relative_difference(grad, theirs[name]) for name, grad in ours)


def disagreements(report, tolerance):
    """The entries of a cross-check ``report`` ({check: relative difference}) that are over
    their ``tolerance`` ({check prefix or name: bound}); NaN counts as a disagreement."""
    bad = []
    for name, value in report.items():
        bound = tolerance[name] if name in tolerance else next(
            v for k, v in tolerance.items() if name.startswith(k))
        if not value <= bound:
            bad.append(name)
    return bad


def print_agreement(label, report, tolerance):
    """Print one cross-check report; True when the libraries agree."""
    bad = disagreements(report, tolerance)
    print(f"  agreement {label}: " + ", ".join(f"{k} {v:.1e}" for k, v in report.items())
          + ("  DISAGREE: " + ", ".join(bad) if bad else "  (ok)"), flush=True)
    return not bad


class Worker:
    """A fresh Python process that imports ``module`` once and then runs its functions on
    request, one at a time (so a benchmark can take its contenders in turn, round after round,
    each in its own process, without paying the imports again every round)."""

    def __init__(self, module, threads=None):
        import subprocess
        import sys
        import tempfile
        here = os.path.dirname(os.path.abspath(__file__))
        code = (f"import sys, json; sys.path.insert(0, {here!r}); import {module} as m\n"
                "for line in sys.stdin:\n"
                "    name, args = json.loads(line)\n"
                "    print('WORKER_RESULT ' + json.dumps(getattr(m, name)(*args)), flush=True)\n")
        env = dict(os.environ)
        if threads is not None:
            for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                env[name] = str(threads)
        self.errors = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self.errors, text=True,
                                        env=env)
        self.module = module

    def call(self, function, *args):
        import json
        self.process.stdin.write(json.dumps([function, list(args)]) + "\n")
        self.process.stdin.flush()
        for line in self.process.stdout:
            if line.startswith("WORKER_RESULT "):
                return json.loads(line[len("WORKER_RESULT "):])
        self.errors.seek(0)
        raise RuntimeError(f"{self.module}.{function}{tuple(args)} failed in its process:\n"
                           + self.errors.read()[-3000:])

    def close(self):
        self.process.stdin.close()
        self.process.wait()
        self.errors.close()


def rounds_of(module, function, contenders, args, rounds, threads=None):
    """{contender: [result of round 1, round 2, ...]}: ``module.function(contender, *args)``,
    each contender in its own process (started once, imports paid once), the contenders taking
    turns round after round so a slow phase of a shared machine hits all of them alike. None
    results (PyTorch missing) are left out. Under --quick everything runs in this process."""
    values = {name: [] for name in contenders}
    if IN_PROCESS:
        for _ in range(rounds):
            for name in contenders:
                values[name].append(isolated(module, function, name, *args))
    else:
        workers = {name: Worker(module, threads) for name in contenders}
        try:
            for _ in range(rounds):
                for name in contenders:
                    values[name].append(workers[name].call(function, name, *args))
        finally:
            for worker in workers.values():
                worker.close()
    return {name: [v for v in found if v is not None] for name, found in values.items()
            if any(v is not None for v in found)}


def column(results, key):
    """One entry of dict-valued per-round results: {contender: [result[key] per round]}."""
    return {name: [r[key] for r in rounds] for name, rounds in results.items()}


def report_rounds(benchmark, case, per_round, unit, higher_is_better, bar=None,
                  reference="pytorch", also=(), kind=None):
    """Print medians and per-round ratios of chainrule against ``reference`` (and against each
    contender in ``also``, e.g. a NumPy bound); returns {reference: median ratio, ...}.

    A ratio is chainrule's speed over the other's (higher_is_better: samples/s) or chainrule's
    time over the other's (lower is better: µs/op, MiB); each round's ratio comes from that
    round's pair. The line ``RESULT {...}`` is what run_all.py gathers into its summary."""
    import json
    ours = per_round.get("chainrule", [])
    line = f"  {case:22s} chainrule {statistics.median(ours):10.4g} {unit}" if ours else \
        f"  {case:22s} chainrule (no result)"
    medians, every_round = {}, {}
    bars = bar if isinstance(bar, dict) else ({reference: bar} if bar is not None else {})
    for other in (reference,) + tuple(also):
        theirs = per_round.get(other)
        if not theirs or not ours:
            continue
        ratios = [ratio(a, b) for a, b in zip(ours, theirs)]
        medians[other] = statistics.median(ratios)
        every_round[other] = ratios
        kind = kind or ("speed" if higher_is_better else "time")
        wanted = (f" (bar {'>=' if higher_is_better else '<='} {bars[other]})"
                  if other in bars else "")
        line += (f" | {other} {statistics.median(theirs):10.4g} {unit} | {kind} ratio "
                 f"{medians[other]:.2f}{wanted} | rounds "
                 + " ".join(f"{r:.2f}" for r in ratios))
    print(line, flush=True)
    print("RESULT " + json.dumps({
        "benchmark": benchmark, "case": case, "unit": unit,
        "higher_is_better": higher_is_better,
        "medians": {k: statistics.median(v) for k, v in per_round.items() if v},
        "ratios": medians, "round_ratios": every_round, "bars": bars,
        "met": {k: (medians[k] >= b if higher_is_better else medians[k] <= b)
                for k, b in bars.items() if k in medians}}), flush=True)
    return medians
