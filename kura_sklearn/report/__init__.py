"""What people look at: the cluster tree, the map, the HTML report, the tables.

The report and the map import plotly when first used, so that printing a
tree stays fast.
"""

from ._frames import (
    assignments_table,
    clusters_table,
    conversation_frame,
    conversations_table,
    fitted_clusterer,
    hierarchy_frame,
)
from ._languages import language_check
from ._tree import build_tree, print_tree, tree_text
from ._trends import choose_period, conversation_times, growth_table, trends_table

__all__ = [
    "assignments_table",
    "build_tree",
    "choose_period",
    "clusters_table",
    "conversation_times",
    "conversation_frame",
    "conversations_table",
    "fitted_clusterer",
    "growth_table",
    "hierarchy_frame",
    "language_check",
    "plot_map",
    "print_tree",
    "report_html",
    "tree_text",
    "trends_table",
    "write_report",
]

_LAZY = {"plot_map": "._plot", "report_html": "._html", "write_report": "._html"}


def __getattr__(name):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
