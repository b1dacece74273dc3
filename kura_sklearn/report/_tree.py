"""The cluster tree in a terminal, drawn with rich."""

import io
import math

from ..utils import count_of, terminal_safe
from ._frames import clusters_table


def _as_table(source):
    """A clusters table from a fitted estimator, or the table itself."""
    if hasattr(source, "columns"):
        missing = {"id", "name", "parent_id", "count"} - set(source.columns)
        if missing:
            raise ValueError(
                f"A clusters table needs the columns {sorted(missing)}; "
                f"got {list(source.columns)}."
            )
        return source
    return clusters_table(source)


def _is_missing(value):
    return (
        value is None
        or (isinstance(value, float) and math.isnan(value))
        or (str(value) == "<NA>")
    )


def build_tree(source, *, max_depth=None, descriptions=False):
    """The cluster tree as a :class:`rich.tree.Tree`.

    Parameters
    ----------
    source : ConversationClusterer, Pipeline or pandas.DataFrame
        A fitted clusterer or pipeline, or a clusters table (as
        ``clusters.parquet`` holds it: ``id``, ``name``, ``parent_id``,
        ``count`` and optionally ``share``, ``description``, ``hidden``).
    max_depth : int, default=None
        Levels shown below the roots; ``None`` shows every level.
    descriptions : bool, default=False
        Show each cluster's description under its name.

    Returns
    -------
    tree : rich.tree.Tree
        Roots first, children sorted by count, largest first.
    """
    from rich.text import Text
    from rich.tree import Tree

    table = _as_table(source)
    rows = {int(row["id"]): row for row in table.to_dict("records")}
    children = {cid: [] for cid in rows}
    roots = []
    for cid, row in rows.items():
        parent = row["parent_id"]
        if _is_missing(parent):
            roots.append(cid)
        else:
            children[int(parent)].append(cid)
    by_count = lambda cid: (-int(rows[cid]["count"]), cid)  # noqa: E731
    total = sum(int(rows[cid]["count"]) for cid in roots)
    n_base = sum(1 for row in rows.values() if int(row.get("level", 0)) == 0)

    def label(cid):
        row = rows[cid]
        share = row.get("share")
        if _is_missing(share):
            share = int(row["count"]) / max(total, 1)
        style = "dim" if row.get("hidden", False) else "bold"
        # Text objects, never markup: names come from conversations and may
        # hold "[...]" that rich would otherwise read as styles; and control
        # characters shown as escapes, never sent raw to the terminal
        text = Text(terminal_safe(row["name"]), style=style)
        text.append(f"  {count_of(row['count'], 'conversation')}, {share:.1%}", "cyan")
        description = row.get("description")
        if descriptions and not _is_missing(description) and description:
            text.append("\n" + terminal_safe(description), "italic")
        return text

    tree = Tree(
        Text(
            f"{count_of(total, 'conversation')} in {count_of(n_base, 'cluster')}",
            style="bold",
        ),
        guide_style="bright_black",
    )

    def add(branch, cid, depth):
        node = branch.add(label(cid))
        if max_depth is not None and depth >= max_depth:
            return
        for child in sorted(children[cid], key=by_count):
            add(node, child, depth + 1)

    for root in sorted(roots, key=by_count):
        add(tree, root, 0)
    return tree


def print_tree(source, *, max_depth=None, descriptions=False, file=None, width=None):
    """Print the cluster tree: names, counts and shares of all conversations.

    Parameters
    ----------
    source : ConversationClusterer, Pipeline or pandas.DataFrame
        A fitted clusterer or pipeline, or a clusters table.
    max_depth : int, default=None
        Levels shown below the roots; ``None`` shows every level.
    descriptions : bool, default=False
        Show each cluster's description under its name.
    file : file-like, default=None
        Where to print; ``None`` is standard output. Colours are used only
        on a terminal.
    width : int, default=None
        Line width; ``None`` is the terminal's, or 100 off a terminal.

    Examples
    --------
    >>> from kura_sklearn import ConversationClusterer, KMeansClusterer
    >>> from kura_sklearn.report import print_tree
    >>> model = ConversationClusterer(clusterer=KMeansClusterer(n_clusters=2),
    ...                               max_clusters=1, random_state=0)
    >>> model = model.fit(["reset my password", "forgot my password",
    ...                    "bake sourdough bread", "bread will not rise"])
    >>> print_tree(model, width=60)  # doctest: +ELLIPSIS
    4 conversations in 2 clusters
    └── ...  4 conversations, 100.0%
        ├── ...  2 conversations, 50.0%
        └── ...  2 conversations, 50.0%
    """
    from rich.console import Console

    if width is None and not _isatty(file):
        width = 100
    console = Console(file=file, width=width, soft_wrap=False, highlight=False)
    console.print(build_tree(source, max_depth=max_depth, descriptions=descriptions))


def tree_text(source, *, max_depth=None, descriptions=False, width=100):
    """The cluster tree as plain text (no colours), e.g. for logs or files.

    Parameters
    ----------
    source : ConversationClusterer, Pipeline or pandas.DataFrame
        A fitted clusterer or pipeline, or a clusters table.
    max_depth : int, default=None
        Levels shown below the roots.
    descriptions : bool, default=False
        Show each cluster's description under its name.
    width : int, default=100
        Line width.

    Returns
    -------
    text : str
    """
    buffer = io.StringIO()
    print_tree(
        source,
        max_depth=max_depth,
        descriptions=descriptions,
        file=buffer,
        width=width,
    )
    return buffer.getvalue()


def _isatty(file):
    import sys

    file = sys.stdout if file is None else file
    try:
        return file.isatty()
    except (AttributeError, ValueError):
        return False
