"""Every ```python block in docs/*.md and README.md runs (blocks of one page share a namespace,
in order), so the documentation cannot drift from the code."""
import pathlib
import re

import pytest

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs"
PAGES = sorted(DOCS.glob("*.md")) + [DOCS.parent / "README.md"]


def code_blocks(path):
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_code_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    blocks = code_blocks(page)
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"{page.name}[block {i + 1}]", "exec"), namespace)
        except Exception as error:  # noqa: BLE001 - report which block failed
            raise AssertionError(f"{page.name}, code block {i + 1} failed: {error!r}") from error


def test_docs_have_code():
    assert PAGES and all(code_blocks(p) for p in PAGES if p.name == "tutorial.md")
