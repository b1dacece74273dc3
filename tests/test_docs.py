"""The README's Python examples run as written.

Each fenced ``python`` block of README.md is executed, in order and in one
namespace, from the repository's root (where the README's paths point):
an example that drifts from the API fails here.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_blocks(path):
    return FENCE.findall(path.read_text(encoding="utf-8"))


def test_readme_has_python_examples():
    assert len(python_blocks(ROOT / "README.md")) >= 3


def test_readme_python_examples_run(monkeypatch):
    if not (ROOT / "README.md").exists():  # pragma: no cover - an sdist
        pytest.skip("README.md is not beside the tests")
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    namespace = {"__name__": "readme"}
    for number, block in enumerate(python_blocks(ROOT / "README.md"), 1):
        code = compile(block, f"README.md, python block {number}", "exec")
        exec(code, namespace)  # noqa: S102 - the project's own README
        if number == 1:
            # the first example's names exist and mean what it says
            assert len(namespace["labels"]) == len(namespace["conversations"])
            placed = namespace["pipe"].predict(namespace["new_conversations"])
            assert len(placed) == len(namespace["new_conversations"]) > 0
