"""Importing the package is cheap and needs no key."""

import json
import os
import subprocess
import sys

import pytest

HEAVY = [
    "sklearn",
    "torch",
    "sentence_transformers",
    "onnxruntime",
    "tokenizers",
    "openai",
    "pandas",
    "hdbscan",
    "umap",
]


def _run(code, env=None):
    env = {k: v for k, v in (env or os.environ).items() if not k.startswith("OPENAI")}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return out.stdout


def test_import_loads_no_heavy_dependency():
    # `import kura_sklearn` defers scikit-learn, torch, openai... until a name
    # that needs them is used (Kura's import takes 16 s; see benchmarks).
    loaded = json.loads(
        _run(
            "import sys, json, kura_sklearn; "
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
        )
    )
    assert loaded == []


def test_public_names_resolve_without_an_api_key():
    # Every public name imports with no OPENAI_* variable set: no client is
    # built at import or construction time.
    out = _run(
        "import kura_sklearn as k; "
        "objs = [getattr(k, n) for n in k.__all__]; "
        "k.ConversationSummarizer(model='openai/gpt-4o-mini'); "
        "k.OpenAIEmbedder(); print(len(objs))"
    )
    import kura_sklearn

    assert int(out) == len(kura_sklearn.__all__)


def test_unknown_attribute_raises_attribute_error():
    import kura_sklearn

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        kura_sklearn.Nope  # noqa: B018
