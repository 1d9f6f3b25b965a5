"""chainrule asks glibc to keep freed blocks for reuse (chainrule.allocator): on at import on
Linux with glibc, off with CHAINRULE_KEEP_FREED_MEMORY=0, a no-op elsewhere."""
import os
import subprocess
import sys

import pytest

from chainrule import allocator

HAS_GLIBC = allocator._glibc_mallopt() is not None


def _applied_in_fresh_process(value):
    env = dict(os.environ)
    env.pop("CHAINRULE_KEEP_FREED_MEMORY", None)
    if value is not None:
        env["CHAINRULE_KEEP_FREED_MEMORY"] = value
    out = subprocess.run([sys.executable, "-c",
                          "import chainrule; print(chainrule.allocator.applied)"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.mark.skipif(not HAS_GLIBC, reason="glibc's mallopt is not available here")
@pytest.mark.parametrize("value, applied", [(None, "True"), ("1", "True"), ("0", "False"),
                                            ("off", "False")])
def test_import_keeps_freed_memory_unless_the_environment_says_no(value, applied):
    assert _applied_in_fresh_process(value) == applied


@pytest.mark.skipif(not HAS_GLIBC, reason="glibc's mallopt is not available here")
def test_the_thresholds_are_ones_glibc_accepts():
    assert allocator.keep_freed_memory() is True


def test_without_glibc_nothing_happens(monkeypatch):
    monkeypatch.setattr(allocator, "_glibc_mallopt", lambda: None)
    monkeypatch.setattr(allocator, "applied", False)
    assert allocator.keep_freed_memory() is False
    assert allocator.applied is False
