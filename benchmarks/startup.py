"""startup: how long a fresh process takes for ``import chainrule``, ``chainrule --help`` and
``chainrule train`` (the bundled digits, the defaults), beside ``import numpy`` (the floor
chainrule builds on) and ``import torch``; bars: 0.3 s, 0.3 s and 5 s (issue 16.5).

Every timing is a new Python process (cold start; the files are in the OS cache, as after
any first run). chainrule is timed from a copy of the package with its bytecode compiled,
as an installed package has it (this project's machines set PYTHONDONTWRITEBYTECODE=1, and a
checkout without .pyc files spends about 0.5 s recompiling every module on each start).
The contenders take turns round after round; medians and per-round ratios are printed.
``chainrule train --out DIR`` (which also writes report.html, with matplotlib) is shown
without a bar. Before timing, the checks: a bare ``import chainrule`` and ``chainrule --help``
load none of the training stack or the optional extras; and every timed ``chainrule train``
must reach 90% test accuracy (so the time is that of the real work).

    python benchmarks/startup.py [--quick] [--rounds N]

With BENCH_CLOCK=cpu the children's CPU time (user + system) is reported instead of wall time.
"""
import compileall
import importlib.util
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

from _common import CLOCK, options, report_rounds

#: bars of issue 16.5, in seconds of wall time from a cold start
LIMITS = {"import": 0.3, "help": 0.3, "train": 5.0}
#: chainrule's parts and extras a bare ``import chainrule`` (and ``--help``) must not load
NOT_AT_START = ("chainrule.data", "chainrule.models", "chainrule.train", "chainrule.io",
                "chainrule.viz", "chainrule.distributed", "chainrule.nn", "chainrule.optim",
                "matplotlib", "onnx", "safetensors", "tensorboardX", "mpi4py", "sklearn",
                "scipy", "PIL", "torch")
CLI = "import sys; from chainrule.cli.main import main; sys.exit(main())"
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def compiled_copy(directory):
    """Copy the chainrule package into ``directory`` with its bytecode compiled; the
    PYTHONPATH entry that makes children import that copy."""
    source = importlib.util.find_spec("chainrule").submodule_search_locations[0]
    target = os.path.join(directory, "chainrule")
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    if not compileall.compile_dir(target, quiet=1):
        raise RuntimeError(f"startup: could not compile the copy of {source}")
    return directory


def command(args, env, cwd):
    """Run ``python args...`` to the end; (seconds by CLOCK, completed process)."""
    before, began = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    done = subprocess.run([sys.executable] + args, env=env, cwd=cwd, capture_output=True,
                          text=True)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode:
        raise RuntimeError(f"startup: python {' '.join(args)} failed ({done.returncode}):\n"
                           + done.stderr[-3000:])
    return (cpu if CLOCK == "cpu" else wall), done


def loaded_at_start(env, cwd):
    """The forbidden modules that ``import chainrule`` and ``chainrule --help`` load."""
    report = ("import json, sys; print('MODULES ' + json.dumps([m for m in {names!r} "
              "if m in sys.modules]))").format(names=NOT_AT_START)
    found = {}
    for label, code in (("import chainrule", "import chainrule\n"),
                        ("chainrule --help", "import contextlib, io\n"
                         "from chainrule.cli.main import main\n"
                         "with contextlib.redirect_stdout(io.StringIO()):\n"
                         "    try:\n        main(['--help'])\n"
                         "    except SystemExit:\n        pass\n")):
        out = command(["-c", code + report], env, cwd)[1].stdout
        found[label] = json.loads(out.split("MODULES ", 1)[1])
    return found


def test_accuracy(output):
    """The test accuracy in ``chainrule train``'s summary table."""
    match = re.search(r"^test\s+\S+\s+(\S+)", output, re.MULTILINE)
    return float(match.group(1)) if match else float("nan")


def cases(quick, have_torch):
    """{case: {contender: (python arguments, environment changes)}}; each contender of a
    case is timed in turn. --quick (a smoke test in CI) trains 5 epochs and leaves out torch,
    the report and the one-thread run."""
    def plain(*args):
        return list(args), {}
    found = {"import": {"chainrule": plain("-c", "import chainrule"),
                        "numpy": plain("-c", "import numpy")},
             "help": {"chainrule": plain("-c", CLI, "--help")},
             "train": {"chainrule": plain("-c", CLI, "train", *(["--epochs", "5"] if quick
                                                                 else []))}}
    if not quick:
        found["train --out"] = {"chainrule": plain("-c", CLI, "train", "--out", "run",
                                                   "--overwrite")}
        if os.environ.get("OPENBLAS_NUM_THREADS") != "1":
            # OpenBLAS threads on tiny GEMMs wait for each other when other jobs hold the
            # cores: this shows how much of "train" that is
            found["train, 1 BLAS thread"] = {"chainrule": (["-c", CLI, "train"], ONE_THREAD)}
        if have_torch:
            found["import"]["pytorch"] = plain("-c", "import torch")
    return found


def main(quick=False, rounds=None, threads=None):
    rounds = rounds or (1 if quick else 5)
    have_torch = importlib.util.find_spec("torch") is not None
    print(f"startup: fresh processes, {rounds} round(s) taken in turn, clock {CLOCK}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '<unset>')}, load "
          f"{os.getloadavg()[0]:.1f}; chainrule from a compiled copy; medians of per-round ratios")
    with tempfile.TemporaryDirectory() as directory:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [compiled_copy(directory)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
        work = os.path.join(directory, "work")
        os.mkdir(work)
        ok = check(env, work)
        table = cases(quick, have_torch)
        floor = min(command(["-c", "pass"], env, work)[0] for _ in range(3))
        print(f"  python -c pass (the interpreter and site, not chainrule's): {floor:.3f} s")
        if not quick:                              # the first runs fill the OS file cache
            for contenders in table.values():
                for args, changes in contenders.values():
                    command(args, dict(env, **changes), work)
        times = {case: {name: [] for name in contenders} for case, contenders in table.items()}
        accuracies = []
        for _ in range(rounds):
            for case, contenders in table.items():
                for name, (args, changes) in contenders.items():
                    seconds, done = command(args, dict(env, **changes), work)
                    times[case][name].append(seconds)
                    if case.startswith("train"):
                        accuracies.append(test_accuracy(done.stdout))
    good = min(accuracies) >= 0.9
    print(f"  check chainrule train: test accuracy {min(accuracies):.4f} at worst"
          + ("  (ok)" if good else "  FAILED (below 0.9)"))
    ok = ok and good
    for case, per_round in times.items():
        limit = LIMITS.get(case)
        per_round["limit"] = [limit or LIMITS["train"]] * rounds
        also = tuple(name for name in per_round if name not in ("chainrule", "limit"))
        report_rounds("startup", case, per_round, "s", higher_is_better=False,
                      bar=None if limit is None else {"limit": 1.0}, reference="limit",
                      also=also)
    if not ok:
        print("startup: the checks failed (see above)")
    return 0 if ok else 1


def check(env, work):
    """What must hold at start-up; prints each; True when all hold."""
    ok = True
    for label, modules in loaded_at_start(env, work).items():
        print(f"  check {label}: loads {', '.join(modules) if modules else 'none'} of "
              "the training stack and extras" + ("  FAILED" if modules else "  (ok)"))
        ok = ok and not modules
    return ok


if __name__ == "__main__":
    sys.exit(main(**options()))
