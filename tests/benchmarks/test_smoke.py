"""``python benchmarks/run_all.py --quick`` runs every benchmark end to end: each one's
cross-checks (the run fails when the libraries disagree) and a smoke test of its timing code.
No timings are asserted: machines here are noisy; the numbers live in benchmarks/RESULTS.md."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_all_benchmarks_run_quickly():
    result = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "run_all.py"),
                             "--quick"], capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    for name in ("op_overhead", "seed_example", "mlp_train", "mlp_infer", "linreg_gd",
                 "newton_vs_adam", "memory", "conv_train", "distributed_scaling", "data_loading",
                 "gpt_train", "startup"):
        assert name in result.stdout
