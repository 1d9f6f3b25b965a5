"""Running the command line from a subprocess, as a user would, and checking its answers.

``run`` starts ``python -m chainrule.cli.main`` once per command. ``run_many`` runs a table
of command lines through ``chainrule.cli.main.main`` in ONE subprocess (start-up is most of
the cost of a failing command), capturing each one's exit code and stderr; an exception
escaping ``main`` is reported as the code ``"escaped"`` with its traceback.
"""
import json
import subprocess
import sys
import types

_DRIVER = r"""
import contextlib, io, json, sys, traceback
from chainrule.cli.main import main
results = []
for argv in json.load(sys.stdin):
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            code = main(argv)
        except SystemExit as stop:
            code = stop.code
        except BaseException:
            traceback.print_exc(file=err)
            code = "escaped"
    results.append({"returncode": code, "stderr": err.getvalue(), "stdout": out.getvalue()})
json.dump(results, sys.stdout)
"""


def run(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "chainrule.cli.main", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=timeout)


def run_many(commands, cwd=None, timeout=600):
    """[result per command line], each with ``returncode``, ``stderr`` and ``stdout``."""
    done = subprocess.run([sys.executable, "-c", _DRIVER], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout,
                          input=json.dumps([[str(a) for a in argv] for argv in commands]))
    assert done.returncode == 0, done.stderr
    return [types.SimpleNamespace(**r) for r in json.loads(done.stdout)]


def assert_user_error(result, *culprits, code=2):
    """Exit ``code``; stderr is one line 'chainrule <command>: error: ...' (plus at most one
    hint line) naming every culprit; no traceback."""
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 2, result.stderr
    assert lines[0].startswith("chainrule") and ": error: " in lines[0], lines[0]
    for culprit in culprits:
        assert culprit in result.stderr, (culprit, result.stderr)
