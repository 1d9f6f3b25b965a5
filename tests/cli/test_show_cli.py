"""The explain / graph / landscape / lr-find / compare-optimizers commands."""
import subprocess
import sys


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "chainrule.cli.main", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


def test_explain_defaults_to_the_seed_example():
    result = run("explain")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[3].split()[:7] == ["1", "x²", "PowScalar(2)", "loss", "s", "1", "1"]
    assert "w: -2" in result.stdout


def test_explain_any_expression_and_rejects_code():
    result = run("explain", "(w*x - y)**2", "--set", "w=1", "x=1", "y=2", "--markdown")
    assert result.returncode == 0 and "\n| step | gate |" in result.stdout
    bad = run("explain", "__import__('os').getcwd()")
    assert bad.returncode == 2 and "not allowed" in bad.stderr and "Traceback" not in bad.stderr


def test_graph_landscape_lr_find_compare_write_files(tmp_path):
    assert run("graph", "--out", "g.svg", cwd=tmp_path).returncode == 0
    assert (tmp_path / "g.svg").read_text().lstrip().startswith("<")
    assert run("graph", "model", "--out", "m.dot", cwd=tmp_path).returncode == 0
    for command in (["landscape", "--epochs", "1"], ["lr-find"],
                    ["compare-optimizers", "--steps", "20"]):
        result = run(*command, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "wrote" in result.stdout
    assert {p.name for p in tmp_path.glob("*.png")} == {"landscape.png", "lr_find.png",
                                                        "compare_optimizers.png"}
