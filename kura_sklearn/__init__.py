"""Find out what people talk about with AI assistants, with scikit-learn estimators.

Conversations are summarised by an LLM (or extractively, offline), embedded,
clustered, named and arranged in a hierarchy. Every stage is a scikit-learn
estimator, so the whole system is one :class:`sklearn.pipeline.Pipeline`.

Public names are resolved lazily (PEP 562): ``import kura_sklearn`` does not
import scikit-learn, torch or openai, which keeps start-up fast. Importing a
name such as ``KMeansClusterer`` imports what that name needs.
"""

import importlib

from ._version import __version__  # noqa: F401  (re-exported)

# public name -> submodule that defines it
_LAZY = {
    "Conversation": "conversation",
    "Message": "conversation",
    "ConversationValidationError": "conversation",
    "load_conversations": "conversation",
    "ConversationSummarizer": "summarization",
    "ConversationSummary": "summarization",
    "OnnxEmbedder": "embedding",
    "SentenceTransformerEmbedder": "embedding",
    "OpenAIEmbedder": "embedding",
    "PrecomputedEmbedder": "embedding",
    "KMeansClusterer": "cluster",
    "MiniBatchKMeansClusterer": "cluster",
    "KMeansTreeClusterer": "cluster",
    "HDBSCANClusterer": "cluster",
    "ConversationClusterer": "pipeline",
    "Cluster": "hierarchy",
    "ClusterTree": "hierarchy",
    "make_kura_pipeline": "pipeline",
    "KeywordNamer": "naming",
    "LLMNamer": "naming",
    "MapProjector": "projection",
    "load_sample_conversations": "datasets",
    "plot_map": "report",
    "print_tree": "report",
    "write_report": "report",
}

__all__ = sorted([*_LAZY, "__version__"])


def __getattr__(name):
    if name in _LAZY:
        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        value = getattr(module, name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
