"""Run every benchmark, with the machine's OPENBLAS_* variables as they are and with both
unset, printing which BLAS kernel ran each time.

    python benchmarks/run_all.py [--quick]
"""
import os
import subprocess
import sys

BENCHMARKS = ["op_overhead", "seed_example", "mlp_train", "mlp_infer", "linreg_gd",
              "newton_vs_adam", "memory", "conv_train", "distributed_scaling", "data_loading",
              "gpt_train"]


def main():
    quick = "--quick" in sys.argv
    here = os.path.dirname(os.path.abspath(__file__))
    variants = [("OPENBLAS_* as set on this machine", dict(os.environ))]
    if not quick:
        unset = {k: v for k, v in os.environ.items()
                 if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
        variants.append(("OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset", unset))
    failures = 0
    for title, env in variants:
        print(f"===== {title} =====", flush=True)
        for name in BENCHMARKS:
            args = [sys.executable, os.path.join(here, name + ".py")] + (["--quick"] if quick
                                                                         else [])
            result = subprocess.run(args, env=env, cwd=os.path.dirname(here))
            failures += result.returncode != 0
            print(flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
