"""Run every benchmark, with the machine's OPENBLAS_* variables as they are and with both
unset, printing which BLAS kernel ran each time, then a summary of every ratio and bar.

    python benchmarks/run_all.py [--quick] [--rounds N] [--only a,b] [--json PATH]
                                 [--clock cpu] [--set-only]

``--quick`` (CI) runs each benchmark's cross-checks and a smoke test of its timing code, with
the variables as set only; it fails when any benchmark fails (the libraries disagree or a
benchmark breaks). ``--json PATH`` writes every result line (for RESULTS.md). ``--clock cpu``
times CPU time instead of wall time, with one thread per library (OPENBLAS_NUM_THREADS,
OMP_NUM_THREADS, MKL_NUM_THREADS = 1): on a machine shared with other jobs it measures the
work each library does, not the waits for a core (data_loading and distributed_scaling stay
on wall time: their work is spread over processes). ``--set-only`` skips the run with the
OPENBLAS_* variables unset.
"""
import json
import os
import subprocess
import sys
import time

BENCHMARKS = ["op_overhead", "seed_example", "mlp_train", "mlp_infer", "linreg_gd",
              "newton_vs_adam", "memory", "conv_train", "distributed_scaling", "data_loading",
              "gpt_train", "startup"]


def run(name, env, extra, here):
    """Run one benchmark, echoing its output; (exit status, its RESULT records)."""
    args = [sys.executable, os.path.join(here, name + ".py")] + extra
    process = subprocess.Popen(args, env=env, cwd=os.path.dirname(here), text=True,
                               stdout=subprocess.PIPE)
    records = []
    for line in process.stdout:
        if line.startswith("RESULT "):
            records.append(json.loads(line[len("RESULT "):]))
        print(line, end="", flush=True)
    return process.wait(), records


def summary(records):
    print("summary (medians of per-round ratios; time and memory ratios: lower is better):")
    for r in records:
        for other, value in r["ratios"].items():
            bar = r["bars"].get(other)
            verdict = "" if bar is None else (" MET" if r["met"].get(other) else " NOT MET")
            wanted = "" if bar is None else f" (bar {'>=' if r['higher_is_better'] else '<='}" \
                                            f" {bar})"
            print(f"  {r['benchmark']:20s} {r['case']:30s} vs {other:8s} {value:6.2f}"
                  f"{wanted}{verdict}")


def main(argv):
    quick = "--quick" in argv
    extra = ["--quick"] if quick else []
    if "--rounds" in argv:
        extra += ["--rounds", argv[argv.index("--rounds") + 1]]
    names = argv[argv.index("--only") + 1].split(",") if "--only" in argv else BENCHMARKS
    here = os.path.dirname(os.path.abspath(__file__))
    base = dict(os.environ)
    if quick:                     # a smoke test: one thread each keeps it cheap on shared CPUs
        base.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    if "--clock" in argv and argv[argv.index("--clock") + 1] == "cpu":
        base.update(BENCH_CLOCK="cpu", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
                    MKL_NUM_THREADS="1")
    variants = [("OPENBLAS_* as set on this machine", base)]
    if not quick and "--set-only" not in argv:
        unset = {k: v for k, v in base.items()
                 if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
        variants.append(("OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset", unset))
    failures, everything = [], []
    for title, env in variants:
        print(f"===== {title} ({time.strftime('%Y-%m-%d %H:%M:%S')}, load "
              f"{os.getloadavg()[0]:.1f}) =====", flush=True)
        records = []
        for name in names:
            status, found = run(name, env, extra, here)
            records += found
            if status:
                failures.append(f"{name} ({title})")
            print(flush=True)
        summary(records)
        everything.append({"variant": title, "records": records,
                           "load": os.getloadavg()[0]})
    if "--json" in argv:
        with open(argv[argv.index("--json") + 1], "w") as f:
            json.dump(everything, f, indent=1)
    if failures:
        print("FAILED: " + ", ".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
