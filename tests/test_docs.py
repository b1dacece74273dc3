"""The README's and the docs' Python examples run as written.

Each fenced ``python`` block of README.md is executed, in order and in one
namespace, from the repository's root (where the README's paths point).
The blocks of each page of ``docs/`` run the same way, one namespace per
page, in a scratch directory holding ``chats.jsonl`` (the bundled sample,
the file the docs read), with ``OPENAI_BASE_URL`` pointing at the tests'
OpenAI-compatible server, so that the LLM examples run offline. A block that
needs what no test machine has (a Dask scheduler, a Redis host, a llama.cpp
server) says so in a comment on the line before it,
``<!-- not run: reason -->``, and is only compiled. An example that drifts
from the API fails here.
"""

import re
import shutil
from importlib.resources import files
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
NOT_RUN = re.compile(r"<!-- not run: (\S.*?) -->\n$")
DOCS = sorted((ROOT / "docs").glob("*.md"))


def python_blocks(path):
    return FENCE.findall(path.read_text(encoding="utf-8"))


def doc_blocks(path):
    """Each python block of ``path`` and why it is not run (None: it runs)."""
    text = path.read_text(encoding="utf-8")
    blocks = []
    for match in FENCE.finditer(text):
        before = text[: match.start()]
        line = before[before.rfind("\n", 0, len(before) - 1) + 1 :]
        reason = NOT_RUN.search(line)
        blocks.append((match.group(1), reason.group(1) if reason else None))
    return blocks


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


def test_most_doc_examples_run():
    blocks = [b for path in DOCS for b in doc_blocks(path)]
    if not blocks:  # pragma: no cover - an sdist without docs/
        pytest.skip("docs/ is not beside the tests")
    skipped = [reason for _, reason in blocks if reason is not None]
    assert len(blocks) >= 20
    assert len(skipped) <= len(blocks) // 4, skipped


@pytest.mark.parametrize("path", DOCS, ids=[p.name for p in DOCS])
def test_doc_python_examples_run(path, tmp_path, monkeypatch, fake_llm):
    blocks = doc_blocks(path)
    if not blocks:
        pytest.skip(f"{path.name} has no python example")
    sample = files("kura_sklearn.datasets") / "data" / "sample_conversations.jsonl"
    shutil.copyfile(sample, tmp_path / "chats.jsonl")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_llm.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-docs-not-a-secret")
    namespace = {"__name__": f"docs_{path.stem}"}
    for number, (block, reason) in enumerate(blocks, 1):
        code = compile(block, f"docs/{path.name}, python block {number}", "exec")
        if reason is None:
            exec(code, namespace)  # noqa: S102 - the project's own docs
