"""One self-contained HTML page: the map, the cluster tree, details and search."""

import base64
import functools
import hashlib
import json
import logging
import math
import pathlib
from importlib import resources

import numpy as np

from ..utils import shorten
from ._facets import metadata_facets, summary_facets, time_data
from ._frames import clusters_table, conversations_table, fitted_clusterer
from ._languages import language_check
from ._plot import _NAME_CHARS, _escape, _map_layout, _map_traces, _palette
from ._transcripts import transcripts_data

logger = logging.getLogger(__name__)

#: Sample summaries embedded per cluster (those nearest its centre on the map).
SAMPLES_PER_CLUSTER = 20
#: What the page shows for the summary of a withheld cluster's conversation.
WITHHELD = "(withheld: below the privacy thresholds)"
#: Characters of a summary kept in the page's data (search and samples).
SUMMARY_CHARS = 1000
#: Points drawn on the map by default: above it, a seeded random sample
#: (every conversation still counts in the tree, details, filters and search).
MAX_MAP_POINTS = 30_000
#: Characters of a cluster's name in its label on the map.
MAP_LABEL_CHARS = 32


def _json_ready(obj):
    """``obj`` as plain JSON-ready Python: arrays as lists, numpy scalars
    unwrapped, floats to 7 significant digits (a map needs no more), NaN and
    infinities to None."""
    if isinstance(obj, dict):
        return {key: _json_ready(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_ready(value) for value in obj]
    if isinstance(obj, (np.ndarray, np.generic)):
        return _json_ready(obj.tolist())
    if isinstance(obj, float):
        return float(f"{obj:.7g}") if math.isfinite(obj) else None
    return obj


def _script_json(obj):
    """JSON for a ``<script type="application/json">`` block.

    ``<``, ``>`` and ``&`` become ``\\u003c``... (and the JavaScript line
    separators are escaped too), so no text in the data can close the block
    or open a comment; ``JSON.parse`` restores them.
    """
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for char, escaped in [
        ("&", "\\u0026"),
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ]:
        text = text.replace(char, escaped)
    return text


def _report_data(estimator, *, title, max_points, conversations=None, transcripts=None):
    """Everything the page shows, as JSON-ready Python.

    The tables and the map's traces are built once, here, and ancestors come
    from the tree; the page reads ancestors and hover text from the data and
    computes neither.
    """
    import pandas as pd
    import plotly.io

    from .. import __version__

    clusterer = fitted_clusterer(estimator)
    tree = clusterer.tree_
    table = conversations_table(clusterer)
    clusters = clusters_table(clusterer)
    n = len(table)
    if max_points == "auto":
        max_points = MAX_MAP_POINTS if n > MAX_MAP_POINTS else None
    labels = table["cluster_id"].to_numpy(dtype=np.int64)
    # a conversation in a withheld cluster, or below one, is withheld: its
    # summary is in no hover text, sample list, search or transcript
    hidden = np.array([c.hidden for c in tree] + [False])
    chains = tree.ancestor_matrix(labels)
    hidden_rows = hidden[np.where(chains >= 0, chains, len(tree))].any(axis=1)
    if hidden_rows.any():
        table = table.copy()
        table.loc[hidden_rows, "summary"] = WITHHELD
    traces, legend_title = _map_traces(table, clusters, tree, max_points=max_points)

    xs = table["x"].to_numpy(dtype=np.float64)
    ys = table["y"].to_numpy(dtype=np.float64)
    member_rows = tree.member_rows(labels)
    root_of = tree.root_of(np.arange(len(tree)))
    ids = [int(c) for c in clusters["id"]]
    levels = dict(zip(ids, clusters["level"].astype(int)))
    counts = dict(zip(ids, clusters["count"].astype(int)))
    by_count = lambda cid: (-counts[cid], cid)  # noqa: E731
    colors = {trace["meta"]: trace["marker"]["color"] for trace in traces}
    chat_ids = [str(c) for c in table["chat_id"]]

    records = []
    for row in clusters.to_dict("records"):
        cid = int(row["id"])
        rows = np.sort(member_rows[cid])
        samples = np.empty(0, np.intp)
        if not row["hidden"] and len(rows):
            distance = np.hypot(xs[rows] - row["x"], ys[rows] - row["y"])
            k = min(SAMPLES_PER_CLUSTER, len(rows))
            nearest = np.argpartition(distance, k - 1)[:k]
            samples = rows[nearest[np.argsort(distance[nearest], kind="stable")]]
        parent = row["parent_id"]
        records.append(
            {
                "id": cid,
                "name": str(row["name"]),
                # the name as plotly's legend and map labels show it: escaped
                "label": _escape(shorten(row["name"], _NAME_CHARS)),
                "tag": _escape(shorten(row["name"], MAP_LABEL_CHARS)),
                "description": str(row["description"] or ""),
                "level": int(row["level"]),
                "parent": None if pd.isna(parent) else int(parent),
                # root first, parent last: the page's path to the cluster
                "ancestors": tree.ancestors(cid)[:0:-1],
                "count": int(row["count"]),
                "share": float(row["share"]),
                "children": sorted((int(c) for c in row["children"]), key=by_count),
                "keywords": [str(k) for k in row["keywords"]],
                "hidden": bool(row["hidden"]),
                "name_source": str(row.get("name_source", "offline")),
                "color": colors.get(int(root_of[cid])),
                "x": float(row["x"]),
                "y": float(row["y"]),
                "samples": [int(i) for i in samples],
            }
        )
    roots = sorted((r["id"] for r in records if r["parent"] is None), key=by_count)
    facets = summary_facets(table)
    if conversations is not None:
        user_key = _user_id_key(estimator)
        facets += metadata_facets(
            chat_ids, conversations, exclude=() if user_key is None else (user_key,)
        )
    # plot_map's figure, less its fixed height: the page sizes the map
    layout = {
        **_map_layout(legend_title),
        "template": plotly.io.templates["plotly_white"].to_plotly_json(),
        "autosize": True,
    }
    return {
        "title": str(title),
        "version": __version__,
        "n_conversations": n,
        "n_plotted": int(sum(len(trace["x"]) for trace in traces)),
        "n_noise": int(np.sum(labels < 0)),
        "n_base_clusters": int(sum(1 for c in ids if levels[c] == 0)),
        "n_levels": int(max(levels.values()) + 1) if levels else 0,
        "roots": roots,
        "facets": facets,
        "time": time_data(table, conversations, tree),
        "limits": {
            "samples_per_cluster": SAMPLES_PER_CLUSTER,
            "summary_chars": SUMMARY_CHARS,
        },
        "clusters": records,
        "conversations": {
            "chat_id": chat_ids,
            "summary": [_cut(s) for s in table["summary"]],
            "cluster": [int(c) for c in labels],
        },
        "transcripts": transcripts_data(
            estimator, chat_ids, hidden_rows, conversations, transcripts
        ),
        "palette": _palette(),
        "figure": _json_ready({"data": traces, "layout": layout}),
    }


def _user_id_key(estimator):
    """The metadata field the pipeline's summarizer reads user ids from."""
    steps = [step for _, step in estimator.steps] if hasattr(estimator, "steps") else []
    return next((s.user_id_key for s in steps if hasattr(s, "user_id_key")), None)


def _cut(text):
    """A summary cut to ``SUMMARY_CHARS`` characters."""
    text = "" if text is None else str(text)
    if len(text) <= SUMMARY_CHARS:
        return text
    return text[: SUMMARY_CHARS - 1] + "\u2026"


@functools.cache
def _asset(name):
    """The text of ``assets/name``, a file shipped with the package."""
    return (resources.files(__package__) / "assets" / name).read_text(encoding="utf-8")


@functools.cache
def _template():
    """The page's Jinja2 template, every ``{{ value }}`` HTML-escaped."""
    import jinja2

    environment = jinja2.Environment(
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    return environment.from_string(_asset("report.html.j2"))


def _csp(scripts, webgl):
    """A Content-Security-Policy allowing only this page's own two scripts.

    Nothing may be fetched (``default-src 'none'``), and inline event handler
    attributes never run, even if some text ever reached the DOM as markup.
    WebGL maps need ``'unsafe-eval'`` (regl compiles its shaders' glue code).
    """
    hashes = " ".join(
        "'sha256-"
        + base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode("ascii")
        + "'"
        for s in scripts
    )
    evaluation = " 'unsafe-eval'" if webgl else ""
    return (
        "default-src 'none'; "
        f"script-src {hashes}{evaluation}; "
        "style-src 'unsafe-inline'; img-src data: blob:; "
        "base-uri 'none'; form-action 'none'"
    )


def report_html(
    estimator,
    *,
    title="What people talk about",
    max_points="auto",
    conversations=None,
    transcripts=None,
):
    """The fitted clusters as one self-contained, interactive HTML page.

    The page works opened from disk, with no network: plotly.js, the styles,
    the script and the data are all inline, and a Content-Security-Policy
    forbids every fetch. It shows

    - a header: conversations, base clusters, levels, top-level clusters;
    - a notice when many conversations are not in English but the embedder
      is English-only (:func:`language_check`);
    - the 2-D map (:func:`plot_map`), coloured by top-level cluster or by
      any level of the tree (a selector), the largest clusters' names drawn
      at their centres; hovering a point shows its summary and clusters,
      clicking it selects its base cluster and opens its conversation;
    - filters over the whole page (tree counts, map, details, search): the
      summaries' languages, concerning score, user frustration and assistant
      errors (those present), the conversations' metadata fields with 2 to
      30 values (a ``user_id`` has more, and is left out), and a time range;
    - the cluster tree, top-level clusters first, largest first, with
      counts and shares (filtered numbers when a filter is on); clicking a
      node selects it and highlights its points on the map;
    - the selected cluster's details: path from its root, who named it
      (the LLM, or an offline fallback after an LLM failure), description,
      count and share, mean concerning score and user frustration, share
      with assistant errors, conversations per period (an inline chart from
      :func:`trends_table`), a breakdown by every facet, sub-clusters,
      keywords and sample summaries, nearest the cluster's centre on the
      map first, each opening its conversation; with no cluster selected,
      the same over all conversations and the fastest growing clusters
      (:func:`growth_table`);
    - a search box: conversations whose summary and clusters whose name
      contain the text are listed and highlighted on the map and tree; a
      conversation opens on click;
    - the conversation viewer: roles and messages, long ones clipped with a
      button to show them whole.

    All text from the data is HTML-escaped or set as text, never parsed as
    markup, so a summary or message such as ``<script>alert(1)</script>``
    shows as written.

    Parameters
    ----------
    estimator : ConversationClusterer or Pipeline
        Fitted; a pipeline must end in a :class:`~kura_sklearn.ConversationClusterer`.
    title : str, default="What people talk about"
        Heading and window title.
    max_points : int, "auto" or None, default="auto"
        Points on the map, a seeded random subsample (see :func:`plot_map`);
        ``"auto"`` draws every conversation up to 30,000 and a sample of
        30,000 above, ``None`` always every one. The tree, details, filters
        and search always cover every conversation.
    conversations : sequence of Conversation, default=None
        The conversations the pipeline was fitted on (others are ignored;
        joined by ``chat_id``). They give the page its metadata filters,
        its times and trends (from ``created_at``) and its transcripts.
    transcripts : bool or None, default=None
        Embed the conversations' messages (each cut to 5,000 characters, at
        most 60 per conversation) for the viewer. None embeds them unless a
        privacy setting of the fit is on (``min_cluster_size`` or
        ``min_unique_users`` above 1, or an LLM namer's ``audit_privacy``);
        False never does. Messages are scrubbed with
        :func:`kura_sklearn.privacy.scrub_pii` unless the pipeline's
        summarizer has ``scrub_pii=False``, and the members of withheld
        clusters never have theirs embedded.

    Returns
    -------
    html : str
        The page.

    See Also
    --------
    write_report : Write the page to a file.
    plot_map : The map alone, as a plotly figure.

    Notes
    -----
    Size: plotly.js takes about 4.8 MB; each conversation adds its summary
    (cut to 1,000 characters), its id, its cluster, its facet codes and day
    (a few bytes each), and its messages when transcripts are embedded; each
    point on the map its position and the hover text of :func:`plot_map`
    (the summary's first 300 characters and its clusters' names, escaped),
    about 0.3 kB. benchmarks/RESULTS.md has the sizes and load times at
    20,000 and 100,000 conversations. Each cluster embeds at most 20 sample
    summaries (as references, not copies) and its counts per period.
    Hidden clusters (below the clusterer's ``min_cluster_size``) show no
    sample summaries. Above 20,000 plotted points the map is drawn with
    WebGL.

    Examples
    --------
    >>> from kura_sklearn import ConversationClusterer, KMeansClusterer
    >>> from kura_sklearn.report import report_html
    >>> summaries = ["reset my password", "forgot my login password",
    ...              "<script>alert(1)</script> in my comments",
    ...              "bread that will not rise",
    ...              "translate hello to japanese", "japanese word for thanks"]
    >>> model = ConversationClusterer(clusterer=KMeansClusterer(n_clusters=3),
    ...                               max_clusters=2, random_state=0)
    >>> page = report_html(model.fit(summaries), title="Demo")
    >>> page.startswith("<!DOCTYPE html>")
    True
    >>> '<script type="application/json" id="report-data">' in page
    True
    >>> "<script>alert(1)" in page, r"\\u003cscript\\u003ealert(1)" in page
    (False, True)
    """
    from plotly.offline import get_plotlyjs

    data = _report_data(
        estimator,
        title=title,
        max_points=max_points,
        conversations=conversations,
        transcripts=transcripts,
    )
    plotly_js = get_plotlyjs()
    if "</script" in plotly_js.lower():  # pragma: no cover - plotly's own text
        raise RuntimeError("This plotly.js cannot be inlined: it contains </script.")
    webgl = any(t.get("type") == "scattergl" for t in data["figure"]["data"])
    script = _asset("report.js")
    stats = [
        (f"{data['n_conversations']:,}", "conversations"),
        (f"{data['n_base_clusters']:,}", "base clusters"),
        (f"{len(data['roots']):,}", "top-level clusters"),
        (f"{data['n_levels']:,}", "levels"),
    ]
    if data["n_noise"]:
        stats.append((f"{data['n_noise']:,}", "noise"))
    if data["n_plotted"] < data["n_conversations"]:
        stats.append((f"{data['n_plotted']:,}", "on the map (random sample)"))
    page = _template().render(
        csp=_csp([plotly_js, script], webgl),
        title=str(title),
        css=_asset("report.css"),
        stats=stats,
        notice=language_check(estimator)["warning"],
        version=data["version"],
        data=_script_json(data),
        plotly_js=plotly_js,
        script=script,
    )
    logger.info(
        "Report: %d conversations, %d clusters, %.1f MB.",
        data["n_conversations"],
        len(data["clusters"]),
        len(page.encode("utf-8")) / 1e6,
    )
    return page


def write_report(estimator, path, **kwargs):
    """Write :func:`report_html` to ``path`` (UTF-8) and return the path.

    Parameters
    ----------
    estimator : ConversationClusterer or Pipeline
        Fitted.
    path : str or path-like
        Where to write; parent directories are created.
    **kwargs
        Passed to :func:`report_html` (``title``, ``max_points``,
        ``conversations``, ``transcripts``).

    Returns
    -------
    path : pathlib.Path
        The file written.
    """
    path = pathlib.Path(path)
    page = report_html(estimator, **kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    logger.info("Wrote the report to %s.", path)
    return path
