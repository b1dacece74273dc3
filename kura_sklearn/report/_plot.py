"""The 2-D map of conversations as a plotly figure, for notebooks and the report."""

import html
import textwrap
from numbers import Integral

import numpy as np

from ..utils import shorten
from ._frames import clusters_table, conversations_table, fitted_clusterer

#: Above this many plotted points the map uses WebGL (``go.Scattergl``).
WEBGL_THRESHOLD = 20_000

_NOISE_COLOR = "#b8b8b8"
_HOVER_WIDTH = 60  # characters per hover line
_HOVER_CHARS = 300  # summary characters shown on hover
_NAME_CHARS = 48  # characters of a cluster name in the legend and hover
_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"


def _escape(text):
    """``text`` HTML-escaped for plotly's hover and legend text.

    Quotes become numeric references: plotly decodes those but not
    ``&quot;``.
    """
    return html.escape(str(text)).replace("&quot;", "&#34;")


def _hover_lines(text):
    """A summary as hover text: wrapped, shortened, every line escaped.

    Plotly renders a subset of HTML in hover and legend text (``<b>``,
    ``<br>``...), so text from conversations is escaped before it gets there;
    escaping after wrapping keeps an entity from being split across lines.
    """
    lines = textwrap.wrap(shorten(text, _HOVER_CHARS), _HOVER_WIDTH) or [""]
    return "<br>".join(_escape(line) for line in lines)


def _palette():
    """Qualitative colours for the groups, longest useful list first."""
    from plotly.colors import qualitative

    return list(qualitative.Plotly) + list(qualitative.D3) + list(qualitative.Alphabet)


def _group_ids(tree, color_level):
    """The cluster each base cluster is coloured by, and the legend title.

    Returns
    -------
    groups : ndarray of shape (n_base,)
        The colouring cluster of each base cluster.
    title : str
    """
    if isinstance(color_level, str):
        if color_level != "top":
            raise ValueError(
                f"color_level must be 'top' or a level (int >= 0), got {color_level!r}."
            )
        return tree.root_of(np.arange(tree.n_base)), "Top-level cluster"
    if not isinstance(color_level, Integral) or isinstance(color_level, bool):
        raise TypeError(
            f"color_level must be 'top' or an int, got {type(color_level).__name__}."
        )
    if color_level < 0:
        raise ValueError(f"color_level must be >= 0, got {color_level}.")
    # for each base cluster, its highest ancestor at or below the level (a
    # root below the level stands for itself): chains rise level by level,
    # so that is the last filled column up to the level
    ids = tree.ancestor_matrix()[:, : int(color_level) + 1]
    last = np.argmax(np.where(ids >= 0, np.arange(ids.shape[1]), -1), axis=1)
    groups = ids[np.arange(len(ids)), last]
    title = "Base cluster" if color_level == 0 else f"Level {int(color_level)} cluster"
    return groups, title


def _subsample(n, max_points, random_state):
    """Positions of the conversations to plot, in order."""
    if max_points is None:
        return np.arange(n)
    if not isinstance(max_points, Integral) or isinstance(max_points, bool):
        raise TypeError(
            f"max_points must be an int or None, got {type(max_points).__name__}."
        )
    if max_points < 1:
        raise ValueError(f"max_points must be >= 1, got {max_points}.")
    if max_points >= n:
        return np.arange(n)
    from sklearn.utils import check_random_state

    rng = check_random_state(random_state)
    return np.sort(rng.choice(n, size=int(max_points), replace=False))


def plot_map(estimator, *, color_level="top", max_points=None, random_state=0):
    """The conversations on the 2-D map, one colour per top-level cluster.

    One trace per cluster of the colouring level, largest first (the legend
    lists their names and sizes), plus a grey ``noise`` trace when the
    clusterer left conversations out (label -1); one point per conversation.
    Hovering a point shows its summary, its base cluster and its top-level
    cluster. Every text taken from the data is HTML-escaped, since plotly
    renders a subset of HTML in hover and legend text.

    Parameters
    ----------
    estimator : ConversationClusterer or Pipeline
        Fitted; a pipeline must end in a :class:`~kura_sklearn.ConversationClusterer`.
    color_level : "top" or int, default="top"
        Colour by top-level (root) cluster, or by the ancestor at this level
        of the tree (0 colours by base cluster). A conversation whose root is
        below ``color_level`` is coloured by its root.
    max_points : int, default=None
        Plot at most this many conversations: a uniform random subsample
        without replacement, drawn with ``random_state`` so the same call
        gives the same figure. ``None`` plots every conversation. Groups left
        with no point get no trace. Worth setting from about 100,000
        conversations, where the figure itself grows to tens of megabytes.
    random_state : int, RandomState instance or None, default=0
        Seed of the subsample; unused when every point is plotted.

    Returns
    -------
    fig : plotly.graph_objects.Figure
        Traces are ``go.Scatter`` up to 20,000 plotted points and
        ``go.Scattergl`` (WebGL) above. Each point's ``customdata`` is
        ``[row, cluster_id]``: its row in
        :func:`~kura_sklearn.report.conversations_table` and its base
        cluster; each trace's ``meta`` is the id of the cluster it shows
        (-1 for noise).

    See Also
    --------
    report_html : The map with the cluster tree, details and search, as one
        HTML page.

    Examples
    --------
    >>> from kura_sklearn import ConversationClusterer, KMeansClusterer
    >>> from kura_sklearn.report import plot_map
    >>> summaries = ["reset my password", "forgot my login password",
    ...              "bake sourdough bread", "bread that will not rise",
    ...              "translate hello to japanese", "japanese word for thanks"]
    >>> model = ConversationClusterer(clusterer=KMeansClusterer(n_clusters=3),
    ...                               max_clusters=2, random_state=0)
    >>> fig = plot_map(model.fit(summaries))
    >>> sum(len(trace.x) for trace in fig.data)
    6
    >>> len(fig.data) <= 2
    True
    >>> sum(len(trace.x) for trace in plot_map(model, max_points=4).data)
    4
    """
    import plotly.graph_objects as go

    clusterer = fitted_clusterer(estimator)
    traces, legend_title = _map_traces(
        conversations_table(clusterer),
        clusters_table(clusterer),
        clusterer.tree_,
        color_level=color_level,
        max_points=max_points,
        random_state=random_state,
    )
    fig = go.Figure(data=traces, layout=_map_layout(legend_title))
    fig.update_layout(template="plotly_white", height=600)
    return fig


def _hover_texts(summaries, labels, roots, names):
    """Each point's hover text: its summary, its base and top-level clusters.

    The one place hover text is written, for the figure of :func:`plot_map`
    and for the report's map alike.

    Parameters
    ----------
    summaries : sequence of str
    labels, roots : sequence of int
        Each point's base cluster and top-level cluster (-1 for noise).
    names : dict of int to str
        Cluster names by id.

    Returns
    -------
    texts : list of str
        Markup for plotly: ``<br>`` and ``<b>`` around escaped text.
    """

    def label_line(title, cid):
        name = "noise" if cid < 0 else shorten(names[cid], _NAME_CHARS)
        return f"<b>{title}:</b> {_escape(name)}"

    return [
        f"{_hover_lines(text)}<br><br>{label_line('Cluster', int(label))}"
        f"<br>{label_line('Top level', int(root))}"
        for text, label, root in zip(summaries, labels, roots)
    ]


def _map_traces(
    conversations,
    clusters,
    tree,
    *,
    color_level="top",
    max_points=None,
    random_state=0,
):
    """The map's traces as plain dicts, and the legend's title.

    What :func:`plot_map` draws, before plotly validates it: the report
    embeds these dicts as they are. Arrays stay numpy arrays.

    Parameters
    ----------
    conversations, clusters : pandas.DataFrame
        The tables of :func:`conversations_table` and :func:`clusters_table`.
    tree : ClusterTree
        The fitted tree the tables were made from.
    color_level, max_points, random_state
        As for :func:`plot_map`.

    Returns
    -------
    traces : list of dict
    legend_title : str
    """
    groups, legend_title = _group_ids(tree, color_level)
    names = dict(zip(clusters["id"].astype(int), clusters["name"]))
    counts = dict(zip(clusters["id"].astype(int), clusters["count"].astype(int)))

    positions = _subsample(len(conversations), max_points, random_state)
    labels = conversations["cluster_id"].to_numpy(dtype=np.int64)[positions]
    summaries = conversations["summary"].to_numpy(dtype=object)[positions]
    xs = conversations["x"].to_numpy(dtype=np.float64)[positions]
    ys = conversations["y"].to_numpy(dtype=np.float64)[positions]
    point_groups = np.where(labels >= 0, groups[np.maximum(labels, 0)], -1)
    roots = tree.root_of(labels)

    webgl = len(positions) > WEBGL_THRESHOLD
    size = 7 if len(positions) <= 2_000 else 5 if not webgl else 3
    order = sorted(
        (g for g in set(groups.tolist()) if np.any(point_groups == g)),
        key=lambda g: (-counts[g], g),
    )
    if np.any(point_groups == -1):
        order.append(-1)
    colors = _palette()
    traces = []
    for k, group in enumerate(order):
        mask = point_groups == group
        if group < 0:
            name, color = "noise", _NOISE_COLOR
        else:
            short = _escape(shorten(names[group], _NAME_CHARS))
            name = f"{short} ({counts[group]:,})"
            color = colors[k % len(colors)]
        traces.append(
            {
                "type": "scattergl" if webgl else "scatter",
                "x": xs[mask],
                "y": ys[mask],
                "mode": "markers",
                "name": name,
                "legendgroup": str(group),
                "meta": int(group),
                "hovertext": _hover_texts(
                    summaries[mask], labels[mask], roots[mask], names
                ),
                "hoverinfo": "text",
                "customdata": np.column_stack([positions[mask], labels[mask]]),
                "marker": {
                    "size": size,
                    "color": color,
                    "opacity": 0.85 if group >= 0 else 0.5,
                    "line": {"width": 0},
                },
            }
        )
    return traces, legend_title


def _map_layout(legend_title):
    """The map's layout, but for plotly's template and a height.

    Parameters
    ----------
    legend_title : str

    Returns
    -------
    layout : dict
    """
    axis = {
        "visible": False,
        "showgrid": False,
        "zeroline": False,
        "showticklabels": False,
    }
    return {
        "font": {"family": _FONT, "size": 12},
        "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
        "hovermode": "closest",
        "hoverlabel": {"align": "left", "font": {"family": _FONT, "size": 12}},
        "legend": {
            "title": {"text": f"<b>{legend_title}</b>"},
            "itemsizing": "constant",
            "bgcolor": "rgba(255,255,255,0.85)",
        },
        "xaxis": axis,
        "yaxis": axis,
    }
