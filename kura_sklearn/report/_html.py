"""One self-contained HTML page: the map, the cluster tree, details and search."""

import base64
import hashlib
import html
import json
import logging
import math
import pathlib
from collections import Counter

import numpy as np

from ._frames import clusters_table, conversations_table, fitted_clusterer
from ._languages import language_check
from ._plot import _lineage, plot_map

logger = logging.getLogger(__name__)

#: Sample summaries embedded per cluster (those nearest its centre on the map).
SAMPLES_PER_CLUSTER = 20
#: Characters of a summary kept in the page's data (search and samples).
SUMMARY_CHARS = 1000
#: Languages listed per cluster, most frequent first.
TOP_LANGUAGES = 10


def _plain(value):
    """``value`` as JSON-ready Python: numpy scalars unwrapped, NaN to None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _decode_arrays(obj):
    """A plotly figure dict with every typed array as a plain list.

    plotly >= 6 writes numpy arrays as ``{"dtype", "bdata", "shape"}``; the
    page reads points by index, and the tests count them, from plain lists.
    """
    if isinstance(obj, dict):
        if "bdata" in obj and "dtype" in obj:
            array = np.frombuffer(base64.b64decode(obj["bdata"]), dtype=obj["dtype"])
            shape = obj.get("shape")
            if shape:
                if isinstance(shape, str):
                    shape = [int(s) for s in shape.split(",")]
                array = array.reshape(shape)
            return _decode_arrays(array.tolist())
        return {key: _decode_arrays(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_decode_arrays(value) for value in obj]
    if isinstance(obj, np.ndarray):
        return _decode_arrays(obj.tolist())
    if isinstance(obj, float):
        if not math.isfinite(obj):
            return None
        return float(f"{obj:.7g}")
    return _plain(obj)


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


def _float_column(frame, name):
    """A facet column as floats (NaN when missing), or None when absent/empty."""
    if name not in frame.columns:
        return None
    values = np.asarray(
        [
            np.nan if v is None or (isinstance(v, float) and v != v) else float(v)
            for v in frame[name]
        ],
        dtype=np.float64,
    )
    return values if np.isfinite(values).any() else None


def _list_column(frame, name):
    """A list-valued facet column (None when missing), or None when absent/empty."""
    if name not in frame.columns:
        return None
    values = [
        None if v is None or (isinstance(v, float) and v != v) else list(v)
        for v in frame[name]
    ]
    return values if any(v is not None for v in values) else None


class _Facets:
    """The per-conversation facets the page summarises per cluster."""

    def __init__(self, frame):
        self.languages = _list_column(frame, "languages")
        self.concerning = _float_column(frame, "concerning_score")
        self.frustration = _float_column(frame, "user_frustration")
        errors = _list_column(frame, "assistant_errors")
        self.errors = None
        if errors is not None:
            self.errors = np.asarray(
                [np.nan if e is None else float(len(e) > 0) for e in errors]
            )

    def available(self):
        return {
            "languages": self.languages is not None,
            "concerning_score": self.concerning is not None,
            "user_frustration": self.frustration is not None,
            "assistant_errors": self.errors is not None,
        }

    @staticmethod
    def _mean(values, rows):
        if values is None or len(rows) == 0:
            return None
        chosen = values[rows]
        chosen = chosen[np.isfinite(chosen)]
        return float(np.mean(chosen)) if len(chosen) else None

    def stats(self, rows):
        """Facet statistics over the conversations at ``rows``."""
        out = {
            "concerning_score": self._mean(self.concerning, rows),
            "user_frustration": self._mean(self.frustration, rows),
            "assistant_errors": self._mean(self.errors, rows),
            "languages": None,
            "n_languages": None,
        }
        if self.languages is not None:
            counts = Counter(
                str(lang).strip().lower()
                for i in rows
                for lang in (self.languages[i] or ())
                if str(lang).strip()
            )
            out["languages"] = [
                [lang, n]
                for lang, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[
                    :TOP_LANGUAGES
                ]
            ]
            out["n_languages"] = len(counts)
        return out


def _report_data(estimator, *, title, max_points):
    """Everything the page shows, as JSON-ready Python."""
    import pandas as pd

    from .. import __version__

    clusterer = fitted_clusterer(estimator)
    conversations = conversations_table(clusterer)
    clusters = clusters_table(clusterer)
    n = len(conversations)
    chains = _lineage(clusters)
    fig = plot_map(clusterer, max_points=max_points)

    xs = conversations["x"].to_numpy(dtype=np.float64)
    ys = conversations["y"].to_numpy(dtype=np.float64)
    rows_of_base = {
        int(k): np.asarray(v, dtype=np.intp)
        for k, v in conversations.groupby("cluster_id").indices.items()
    }
    ids = [int(c) for c in clusters["id"]]
    levels = dict(zip(ids, clusters["level"].astype(int)))
    counts = dict(zip(ids, clusters["count"].astype(int)))
    base_below = {cid: [] for cid in ids}
    for cid, chain in chains.items():
        if levels[cid] == 0:
            for ancestor in chain:
                base_below[ancestor].append(cid)
    by_count = lambda cid: (-counts[cid], cid)  # noqa: E731
    colors = {int(trace.meta): trace.marker.color for trace in fig.data}
    facets = _Facets(conversations)

    records = []
    for row in clusters.to_dict("records"):
        cid = int(row["id"])
        parts = [rows_of_base.get(b, np.empty(0, np.intp)) for b in base_below[cid]]
        rows = np.sort(np.concatenate(parts)) if parts else np.empty(0, np.intp)
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
                "description": str(row["description"] or ""),
                "level": int(row["level"]),
                "parent": None if pd.isna(parent) else int(parent),
                "count": int(row["count"]),
                "share": float(row["share"]),
                "children": sorted((int(c) for c in row["children"]), key=by_count),
                "keywords": [str(k) for k in row["keywords"]],
                "hidden": bool(row["hidden"]),
                "name_source": str(row.get("name_source", "offline")),
                "color": colors.get(chains[cid][-1]),
                "stats": facets.stats(rows),
                "samples": [int(i) for i in samples],
            }
        )
    roots = sorted((r["id"] for r in records if r["parent"] is None), key=by_count)
    labels = conversations["cluster_id"].to_numpy(dtype=np.int64)
    n_plotted = sum(len(trace.x) for trace in fig.data)

    figure = _decode_arrays(json.loads(fig.to_json()))
    for trace in figure["data"]:
        # the page writes the same hover text from its own copy of the
        # summaries: half the size for large maps
        trace.pop("hovertext", None)
    figure["layout"].pop("height", None)
    figure["layout"]["autosize"] = True
    return {
        "title": str(title),
        "version": __version__,
        "n_conversations": n,
        "n_plotted": int(n_plotted),
        "n_noise": int(np.sum(labels < 0)),
        "n_base_clusters": int(sum(1 for c in ids if levels[c] == 0)),
        "n_levels": int(max(levels.values()) + 1) if levels else 0,
        "roots": roots,
        "facets": facets.available(),
        "overview": {
            "count": n,
            "stats": facets.stats(np.arange(n)),
        },
        "limits": {
            "samples_per_cluster": SAMPLES_PER_CLUSTER,
            "summary_chars": SUMMARY_CHARS,
        },
        "clusters": records,
        "conversations": {
            "chat_id": [str(c) for c in conversations["chat_id"]],
            "summary": [_cut(s) for s in conversations["summary"]],
            "cluster": [int(c) for c in labels],
        },
        "figure": figure,
    }


def _cut(text):
    """A summary cut to ``SUMMARY_CHARS`` characters."""
    text = "" if text is None else str(text)
    if len(text) <= SUMMARY_CHARS:
        return text
    return text[: SUMMARY_CHARS - 1] + "\u2026"


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


def report_html(estimator, *, title="What people talk about", max_points=None):
    """The fitted clusters as one self-contained, interactive HTML page.

    The page works opened from disk, with no network: plotly.js, the styles,
    the script and the data are all inline, and a Content-Security-Policy
    forbids every fetch. It shows

    - a header: conversations, base clusters, levels, top-level clusters;
    - a notice when many conversations are not in English but the embedder
      is English-only (:func:`language_check`);
    - the 2-D map (:func:`plot_map`), one colour per top-level cluster;
      hovering a point shows its summary and clusters, clicking it selects
      its base cluster;
    - the cluster tree, top-level clusters first, largest first, with
      counts and shares; clicking a node selects it;
    - the selected cluster's details: path from its root, who named it
      (the LLM, or an offline fallback after an LLM failure), description,
      count and share, sub-clusters, keywords, facet statistics (mean
      concerning score, languages, mean user frustration, share with
      assistant errors; "not available" when the summaries lack them) and
      sample summaries, nearest the cluster's centre on the map first; the
      cluster's points are highlighted on the map;
    - a search box: conversations whose summary and clusters whose name
      contain the text are listed and highlighted on the map and tree.

    All text from the data is HTML-escaped or set as text, never parsed as
    markup, so a summary such as ``<script>alert(1)</script>`` shows as
    written.

    Parameters
    ----------
    estimator : ConversationClusterer or Pipeline
        Fitted; a pipeline must end in a :class:`~kura_sklearn.ConversationClusterer`.
    title : str, default="What people talk about"
        Heading and window title.
    max_points : int, default=None
        Points on the map, a seeded random subsample (see :func:`plot_map`);
        ``None`` plots one point per training conversation. Search and the
        statistics always cover every conversation.

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
    (cut to 1,000 characters; the page writes the hover text from it), its
    id and its point, about 0.25 kB for a typical summary, so 20,000
    conversations make a page of about 9 MB. Each cluster embeds at most 20 sample
    summaries (as references, not copies) and its 10 most frequent languages.
    Hidden clusters (below the clusterer's ``min_cluster_size``) show no
    sample summaries. Above 20,000 plotted points the map is drawn with
    WebGL; from about 100,000 conversations, set ``max_points``.

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

    data = _report_data(estimator, title=title, max_points=max_points)
    plotly_js = get_plotlyjs()
    if "</script" in plotly_js.lower():  # pragma: no cover - plotly's own text
        raise RuntimeError("This plotly.js cannot be inlined: it contains </script.")
    webgl = any(t.get("type") == "scattergl" for t in data["figure"]["data"])
    csp = _csp([plotly_js, _SCRIPT], webgl)
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
    header = "".join(
        f"<li><b>{html.escape(value)}</b> {html.escape(label)}</li>"
        for value, label in stats
    )
    warning = language_check(estimator)["warning"]
    notice = (
        f'<p class="notice" role="note">{html.escape(warning)}</p>' if warning else ""
    )
    page = _TEMPLATE.format(
        csp=html.escape(csp, quote=True),
        title=html.escape(str(title)),
        css=_CSS,
        header=header,
        notice=notice,
        version=html.escape(data["version"]),
        data=_script_json(data),
        plotly_js=plotly_js,
        script=_SCRIPT,
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
        Passed to :func:`report_html` (``title``, ``max_points``).

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


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<header class="top">
  <h1>{title}</h1>
  <ul class="stats">{header}</ul>
</header>
{notice}
<main class="layout">
  <aside class="sidebar">
    <div class="card">
      <label class="label" for="search">Search summaries and cluster names</label>
      <input id="search" type="search" autocomplete="off" spellcheck="false"
             placeholder="e.g. password, pandas, recipe">
      <div id="search-results" hidden></div>
    </div>
    <div class="card tree-card">
      <h2 class="section">Clusters</h2>
      <div id="tree" role="tree"></div>
    </div>
  </aside>
  <section class="content">
    <div class="card map-card"><div id="map"></div></div>
    <div class="card" id="detail" aria-live="polite"></div>
  </section>
</main>
<footer>Made with kura-sklearn {version}. This page is self-contained: it loads
nothing from the network.</footer>
<script type="application/json" id="report-data">{data}</script>
<script>{plotly_js}</script>
<script>{script}</script>
</body>
</html>
"""

_CSS = """
:root {
  --bg: #f5f6f8; --card: #ffffff; --ink: #1f2328; --muted: #626a73;
  --line: #dde1e6; --soft: #eef1f4; --accent: #2563eb; --accent-soft: #e3ecfd;
  --mark: #ffec99;
}
* { box-sizing: border-box; }
html, body { margin: 0; }
body {
  background: var(--bg); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica,
    Arial, sans-serif;
}
header.top {
  display: flex; flex-wrap: wrap; align-items: center; gap: 10px 24px;
  padding: 14px 24px; background: var(--card); border-bottom: 1px solid var(--line);
}
h1 { margin: 0; font-size: 20px; font-weight: 650; letter-spacing: -0.01em; }
.stats {
  display: flex; flex-wrap: wrap; gap: 6px; margin: 0; padding: 0; list-style: none;
}
.stats li {
  padding: 2px 10px; border: 1px solid var(--line); border-radius: 999px;
  background: var(--bg); color: var(--muted); font-size: 13px;
}
.stats b { color: var(--ink); font-variant-numeric: tabular-nums; }
.notice {
  margin: 12px 24px 0; padding: 8px 14px; border: 1px solid #e9c46a;
  border-radius: 8px; background: #fff8e1; max-width: 110ch;
}
.layout {
  display: grid; grid-template-columns: 360px minmax(0, 1fr); gap: 16px;
  align-items: start; padding: 16px 24px;
}
.sidebar {
  position: sticky; top: 16px; display: flex; flex-direction: column; gap: 16px;
  max-height: calc(100vh - 32px); min-height: 0;
}
.content { display: flex; flex-direction: column; gap: 16px; min-width: 0; }
.card {
  background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 12px 14px;
}
.tree-card { overflow: auto; min-height: 120px; flex: 1 1 auto; }
.map-card { padding: 6px; }
#map { height: 580px; }
.label, h2.section, h3 {
  display: block; margin: 0 0 8px; font-size: 12px; font-weight: 600;
  color: var(--muted); text-transform: uppercase; letter-spacing: 0.04em;
}
#search {
  width: 100%; padding: 8px 10px; font: inherit; color: var(--ink);
  border: 1px solid var(--line); border-radius: 7px; background: var(--card);
}
#search:focus { outline: 3px solid var(--accent-soft); border-color: var(--accent); }
#search-results { margin-top: 10px; max-height: 42vh; overflow: auto; }
.result-head { margin: 4px 0 6px; color: var(--muted); font-size: 13px; }
.results { list-style: none; margin: 0 0 8px; padding: 0; }
.results li {
  padding: 6px 8px; border-radius: 6px; cursor: pointer; border: 1px solid transparent;
}
.results li:hover { background: var(--soft); border-color: var(--line); }
.results .meta { display: block; color: var(--muted); font-size: 12px; }
.more { color: var(--muted); font-size: 12px; margin: 0; }
mark { background: var(--mark); color: inherit; border-radius: 2px; padding: 0 1px; }
.tree-node > summary { list-style: none; }
.tree-node > summary::-webkit-details-marker { display: none; }
.tree-label {
  display: flex; align-items: center; gap: 7px; padding: 3px 6px;
  border-radius: 6px; cursor: pointer; user-select: none;
}
.tree-label:hover { background: var(--soft); }
.tree-node.selected > .tree-label { background: var(--accent-soft); }
.tree-node.match > .tree-label .tree-name {
  background: var(--mark); border-radius: 3px;
}
.caret { width: 10px; flex: none; color: var(--muted); font-size: 10px; }
details.tree-node > summary > .caret::before {
  content: "\\25B8"; display: inline-block; transition: transform 0.1s;
}
details.tree-node[open] > summary > .caret::before { transform: rotate(90deg); }
.dot { width: 10px; height: 10px; border-radius: 50%; flex: none; background: #c4c4c4; }
.tree-name {
  flex: 1 1 auto; min-width: 0; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap;
}
.tree-count, .tree-share {
  flex: none; color: var(--muted); font-size: 12px; font-variant-numeric: tabular-nums;
  text-align: right;
}
.tree-share { width: 44px; }
.tree-children {
  margin-left: 11px; padding-left: 6px; border-left: 1px solid var(--line);
}
.breadcrumb {
  display: flex; flex-wrap: wrap; align-items: center; gap: 4px; font-size: 13px;
  color: var(--muted);
}
.breadcrumb .sep { color: #a0a7af; }
button.link {
  border: 0; padding: 0; background: none; font: inherit; color: var(--accent);
  cursor: pointer; text-align: left;
}
button.link:hover { text-decoration: underline; }
#detail h2 { margin: 6px 0 2px; font-size: 20px; font-weight: 650; }
#detail .kind { margin: 0 0 8px; color: var(--muted); font-size: 13px; }
#detail .description { margin: 0 0 14px; max-width: 80ch; }
.detail-grid {
  display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1.25fr); gap: 22px;
}
@media (max-width: 1150px) { .detail-grid { grid-template-columns: minmax(0, 1fr); } }
.cards {
  display: grid; grid-template-columns: repeat(auto-fill, minmax(140px, 1fr));
  gap: 8px; margin-bottom: 16px;
}
.stat { padding: 8px 10px; border: 1px solid var(--line); border-radius: 8px; }
.stat .value {
  display: block; font-size: 18px; font-weight: 600;
  font-variant-numeric: tabular-nums;
}
.stat .key { display: block; color: var(--muted); font-size: 12px; }
.na { color: var(--muted); font-style: italic; font-size: 13px; font-weight: 400; }
.stat .value.na { font-size: 14px; line-height: 27px; }
.block { margin-bottom: 16px; }
.bars {
  display: grid; grid-template-columns: max-content minmax(60px, 1fr) max-content;
  gap: 4px 8px; align-items: center; font-size: 13px;
}
.bar { height: 8px; border-radius: 4px; background: var(--soft); overflow: hidden; }
.bar > span { display: block; height: 100%; background: #8aa8e8; }
.num { color: var(--muted); font-variant-numeric: tabular-nums; font-size: 12px; }
.chips { display: flex; flex-wrap: wrap; gap: 5px; }
.chip {
  padding: 1px 9px; border-radius: 999px; background: var(--soft); font-size: 12px;
}
.children { list-style: none; margin: 0; padding: 0; }
.children li { display: flex; align-items: center; gap: 7px; padding: 2px 0; }
.children .num { margin-left: auto; }
.samples { margin: 0; padding-left: 22px; }
.samples li { margin-bottom: 8px; overflow-wrap: anywhere; }
.samples .meta { display: block; color: var(--muted); font-size: 12px; }
footer { padding: 4px 24px 24px; color: var(--muted); font-size: 12px; }
"""

_SCRIPT = r"""
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("report-data").textContent);
  var conv = DATA.conversations;
  var byId = {};
  DATA.clusters.forEach(function (c) { byId[c.id] = c; });
  var nf = new Intl.NumberFormat("en-US");
  var lower = conv.summary.map(function (s) { return s.toLowerCase(); });
  var treeNodes = {};
  var state = { selected: null, query: "", matches: null };
  var MAX_CLUSTER_HITS = 30, MAX_CONVERSATION_HITS = 100;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function clear(node) {
    while (node.firstChild) { node.removeChild(node.firstChild); }
  }
  function pct(x) { return (100 * x).toFixed(x > 0 && x < 0.001 ? 2 : 1) + "%"; }
  function clusterName(id) { return id >= 0 && byId[id] ? byId[id].name : "noise"; }
  function ancestors(id) {
    var chain = [];
    var p = byId[id] ? byId[id].parent : null;
    while (p !== null && p !== undefined) {
      chain.unshift(byId[p]);
      p = byId[p].parent;
    }
    return chain;
  }
  function isWithin(baseId, id) {
    var c = byId[baseId];
    while (c) {
      if (c.id === id) { return true; }
      c = c.parent === null ? null : byId[c.parent];
    }
    return false;
  }
  // Text with each occurrence of the query wrapped in <mark>, built as nodes.
  function highlighted(text, query) {
    var frag = document.createDocumentFragment();
    var low = text.toLowerCase();
    if (!query || low.length !== text.length) {
      frag.appendChild(document.createTextNode(text));
      return frag;
    }
    var at = 0, hit = low.indexOf(query);
    while (hit >= 0) {
      frag.appendChild(document.createTextNode(text.slice(at, hit)));
      frag.appendChild(el("mark", null, text.slice(hit, hit + query.length)));
      at = hit + query.length;
      hit = low.indexOf(query, at);
    }
    frag.appendChild(document.createTextNode(text.slice(at)));
    return frag;
  }

  // ---- tree ----
  function treeLabel(c, tag) {
    var label = el(tag, "tree-label");
    label.appendChild(el("span", "caret"));
    var dot = el("span", "dot");
    if (c.color) { dot.style.backgroundColor = c.color; }
    label.appendChild(dot);
    label.appendChild(el("span", "tree-name", c.name));
    label.appendChild(el("span", "tree-count", nf.format(c.count)));
    label.appendChild(el("span", "tree-share", pct(c.share)));
    label.setAttribute("title", c.name + "\n" + c.description);
    return label;
  }
  function treeNode(c) {
    var node, label;
    if (c.children.length) {
      node = el("details", "tree-node");
      label = treeLabel(c, "summary");
      node.appendChild(label);
      var kids = el("div", "tree-children");
      c.children.forEach(function (k) { kids.appendChild(treeNode(byId[k])); });
      node.appendChild(kids);
    } else {
      node = el("div", "tree-node tree-leaf");
      label = treeLabel(c, "div");
      node.appendChild(label);
    }
    node.setAttribute("data-cluster-id", String(c.id));
    node.setAttribute("role", "treeitem");
    label.addEventListener("click", function () { select(c.id, "tree"); });
    treeNodes[c.id] = node;
    return node;
  }
  var tree = document.getElementById("tree");
  DATA.roots.forEach(function (id) { tree.appendChild(treeNode(byId[id])); });

  // ---- detail ----
  function statCard(key, value, available) {
    var card = el("div", "stat");
    if (available && value !== null && value !== undefined) {
      card.appendChild(el("span", "value", value));
    } else {
      card.appendChild(el("span", "value na", "not available"));
    }
    card.appendChild(el("span", "key", key));
    return card;
  }
  function fixed(x, digits) {
    return x === null || x === undefined ? null : x.toFixed(digits);
  }
  function clusterLink(c) {
    var b = el("button", "link", c.name);
    b.type = "button";
    b.addEventListener("click", function () { select(c.id, "detail"); });
    return b;
  }
  function renderDetail(c) {
    var box = document.getElementById("detail");
    clear(box);
    var info = c || DATA.overview;
    var crumbs = el("nav", "breadcrumb");
    crumbs.setAttribute("aria-label", "Path");
    if (c) {
      var all = el("button", "link", "All conversations");
      all.type = "button";
      all.addEventListener("click", function () { select(null, "detail"); });
      crumbs.appendChild(all);
      ancestors(c.id).forEach(function (a) {
        crumbs.appendChild(el("span", "sep", "\u203A"));
        crumbs.appendChild(clusterLink(a));
      });
      crumbs.appendChild(el("span", "sep", "\u203A"));
      crumbs.appendChild(el("span", "current", c.name));
    } else {
      crumbs.appendChild(el("span", "current", "Overview"));
    }
    box.appendChild(crumbs);
    box.appendChild(el("h2", null, c ? c.name : "All conversations"));
    var kind;
    if (c) {
      kind = (c.level === 0 ? "Base cluster" : "Meta-cluster, level " + c.level) +
        (c.parent === null ? " \u00B7 top level" : "") + " \u00B7 id " + c.id;
    } else {
      kind = "Click a cluster in the tree or a point on the map to see it here.";
    }
    box.appendChild(el("p", "kind", kind));
    if (c && c.name_source === "fallback") {
      box.appendChild(el("p", "kind name-source",
        "Named offline: the LLM call for this name failed after every retry, " +
        "so its keyword name stands in (name source: fallback)."));
    } else if (c && c.name_source === "llm") {
      box.appendChild(el("p", "kind name-source",
        "Named by the LLM (name source: llm)."));
    }
    if (c && c.description) { box.appendChild(el("p", "description", c.description)); }

    var grid = el("div", "detail-grid");
    var left = el("div"), right = el("div");
    grid.appendChild(left); grid.appendChild(right);
    box.appendChild(grid);

    var st = info.stats, fa = DATA.facets;
    var cards = el("div", "cards");
    cards.appendChild(statCard("conversations", nf.format(info.count), true));
    cards.appendChild(statCard("of all conversations", pct(c ? c.share : 1), true));
    cards.appendChild(statCard("mean concerning score (1\u20135)",
      fixed(st.concerning_score, 2), fa.concerning_score));
    cards.appendChild(statCard("mean user frustration (1\u20135)",
      fixed(st.user_frustration, 2), fa.user_frustration));
    cards.appendChild(statCard("with assistant errors",
      st.assistant_errors === null ? null : pct(st.assistant_errors),
      fa.assistant_errors));
    left.appendChild(cards);

    var langs = el("div", "block");
    langs.appendChild(el("h3", null, "Languages"));
    if (fa.languages && st.languages && st.languages.length) {
      var bars = el("div", "bars");
      var top = st.languages[0][1];
      st.languages.forEach(function (pair) {
        bars.appendChild(el("span", null, pair[0]));
        var bar = el("span", "bar"), fill = el("span");
        fill.style.width = (100 * pair[1] / top).toFixed(1) + "%";
        bar.appendChild(fill);
        bars.appendChild(bar);
        bars.appendChild(el("span", "num", nf.format(pair[1])));
      });
      langs.appendChild(bars);
      if (st.n_languages > st.languages.length) {
        var others = st.n_languages - st.languages.length;
        langs.appendChild(el("p", "more", "and " + others + " more"));
      }
    } else {
      langs.appendChild(el("span", "na", "not available"));
    }
    left.appendChild(langs);

    if (c) {
      var kw = el("div", "block");
      kw.appendChild(el("h3", null, "Keywords"));
      if (c.keywords.length) {
        var chips = el("div", "chips");
        c.keywords.forEach(function (k) { chips.appendChild(el("span", "chip", k)); });
        kw.appendChild(chips);
      } else {
        kw.appendChild(el("span", "na", c.hidden ? "withheld" : "none"));
      }
      left.appendChild(kw);
    }

    var childIds = c ? c.children : DATA.roots;
    if (childIds.length) {
      var kids = el("div", "block");
      kids.appendChild(el("h3", null, c ? "Sub-clusters" : "Top-level clusters"));
      var list = el("ul", "children");
      childIds.forEach(function (k) {
        var child = byId[k], li = el("li"), dot = el("span", "dot");
        if (child.color) { dot.style.backgroundColor = child.color; }
        li.appendChild(dot);
        li.appendChild(clusterLink(child));
        li.appendChild(el("span", "num",
          nf.format(child.count) + " \u00B7 " + pct(child.share)));
        list.appendChild(li);
      });
      kids.appendChild(list);
      (c ? left : right).appendChild(kids);
    }

    if (c) {
      var samples = el("div", "block");
      if (c.hidden) {
        samples.appendChild(el("h3", null, "Sample summaries"));
        samples.appendChild(el("span", "na",
          "withheld: cluster below the privacy threshold"));
      } else {
        samples.appendChild(el("h3", null, "Sample summaries \u00B7 " +
          c.samples.length + " of " + nf.format(c.count) +
          ", nearest the centre first"));
        var ol = el("ol", "samples");
        c.samples.forEach(function (row) {
          var li = el("li");
          li.appendChild(el("span", null, conv.summary[row]));
          var meta = conv.chat_id[row];
          if (conv.cluster[row] !== c.id) {
            meta += " \u00B7 " + clusterName(conv.cluster[row]);
          }
          li.appendChild(el("span", "meta", meta));
          ol.appendChild(li);
        });
        samples.appendChild(ol);
      }
      right.appendChild(samples);
    }
  }

  // ---- map ----
  // Hover text as plot_map writes it. Plotly renders a subset of HTML in
  // hover text, so every text from the data is escaped first.
  function esc(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&#34;").replace(/'/g, "&#x27;");
  }
  function shorten(text, limit) {
    text = text.split(/\s+/).join(" ").trim();
    if (text.length <= limit) { return text; }
    return text.slice(0, limit - 1).replace(/\s+$/, "") + "\u2026";
  }
  function wrap(text, width) {
    var lines = [], line = "";
    text.split(" ").forEach(function (word) {
      while (word.length > width) {
        if (line) { lines.push(line); line = ""; }
        lines.push(word.slice(0, width));
        word = word.slice(width);
      }
      if (!word) { return; }
      if (!line) { line = word; } else if (line.length + 1 + word.length <= width) {
        line += " " + word;
      } else { lines.push(line); line = word; }
    });
    if (line) { lines.push(line); }
    return lines.length ? lines : [""];
  }
  function rootOf(id) {
    var c = byId[id];
    while (c && c.parent !== null) { c = byId[c.parent]; }
    return c ? c.id : -1;
  }
  function hoverText(row) {
    var base = conv.cluster[row];
    var root = base >= 0 ? rootOf(base) : -1;
    return wrap(shorten(conv.summary[row], 300), 60).map(esc).join("<br>") +
      "<br><br><b>Cluster:</b> " + esc(shorten(clusterName(base), 48)) +
      "<br><b>Top level:</b> " + esc(shorten(clusterName(root), 48));
  }
  var gd = document.getElementById("map");
  var mapReady = false;
  function updateMap() {
    if (!mapReady) { return; }
    var keep = null;
    if (state.matches) {
      keep = {};
      state.matches.forEach(function (row) { keep[row] = true; });
    }
    var selected = state.selected;
    var points = gd.data.map(function (trace) {
      if (!keep && selected === null) { return null; }
      var idx = [], cd = trace.customdata || [];
      for (var j = 0; j < cd.length; j++) {
        var ok = keep ? keep[cd[j][0]]
          : (cd[j][1] >= 0 && isWithin(cd[j][1], selected));
        if (ok) { idx.push(j); }
      }
      return idx;
    });
    Plotly.restyle(gd, { selectedpoints: points });
  }
  if (window.Plotly) {
    var fig = DATA.figure;
    fig.data.forEach(function (t) {
      t.hovertext = (t.customdata || []).map(function (cd) {
        return hoverText(cd[0]);
      });
      t.unselected = { marker: { opacity: 0.08 } };
      t.selected = { marker: { opacity: 1 } };
    });
    Plotly.newPlot(gd, fig.data, fig.layout, {
      responsive: true, displaylogo: false, scrollZoom: true,
      modeBarButtonsToRemove: ["select2d", "lasso2d"]
    }).then(function () {
      mapReady = true;
      gd.on("plotly_click", function (ev) {
        var p = ev && ev.points && ev.points[0];
        if (p && p.customdata && p.customdata[1] >= 0) {
          select(p.customdata[1], "map");
        }
      });
      updateMap();
    });
  } else {
    gd.appendChild(el("p", "na", "The map needs JavaScript and plotly.js."));
  }

  // ---- selection ----
  function select(id, source) {
    if (state.selected !== null && treeNodes[state.selected]) {
      treeNodes[state.selected].classList.remove("selected");
    }
    state.selected = id === null || id === undefined || !byId[id] ? null : id;
    var c = state.selected === null ? null : byId[state.selected];
    if (c) {
      var node = treeNodes[c.id];
      node.classList.add("selected");
      ancestors(c.id).forEach(function (a) {
        var n = treeNodes[a.id];
        if (n && n.tagName === "DETAILS") { n.open = true; }
      });
      if (source !== "tree" && node.scrollIntoView) {
        node.scrollIntoView({ block: "nearest" });
      }
    }
    renderDetail(c);
    updateMap();
  }

  // ---- search ----
  var box = document.getElementById("search");
  var out = document.getElementById("search-results");
  var timer = null;
  function runSearch() {
    var query = box.value.trim().toLowerCase();
    state.query = query;
    clear(out);
    out.setAttribute("data-query", query);
    Object.keys(treeNodes).forEach(function (id) {
      treeNodes[id].classList.remove("match");
    });
    if (!query) {
      out.hidden = true;
      state.matches = null;
      updateMap();
      return;
    }
    var clusterHits = DATA.clusters.filter(function (c) {
      return c.name.toLowerCase().indexOf(query) >= 0;
    }).sort(function (a, b) { return b.count - a.count; });
    var rows = [];
    for (var i = 0; i < lower.length; i++) {
      if (lower[i].indexOf(query) >= 0) { rows.push(i); }
    }
    state.matches = rows;
    clusterHits.forEach(function (c) { treeNodes[c.id].classList.add("match"); });
    out.hidden = false;
    out.appendChild(el("p", "result-head", nf.format(rows.length) + " conversation" +
      (rows.length === 1 ? "" : "s") + " and " + clusterHits.length + " cluster" +
      (clusterHits.length === 1 ? "" : "s") + " match"));
    if (clusterHits.length) {
      var cl = el("ul", "results");
      clusterHits.slice(0, MAX_CLUSTER_HITS).forEach(function (c) {
        var li = el("li");
        li.appendChild(highlighted(c.name, query));
        var kind = c.level === 0 ? "base cluster" : "level " + c.level;
        li.appendChild(el("span", "meta",
          kind + " \u00B7 " + nf.format(c.count) + " conversations"));
        li.addEventListener("click", function () { select(c.id, "search"); });
        cl.appendChild(li);
      });
      out.appendChild(cl);
    }
    var ul = el("ul", "results");
    rows.slice(0, MAX_CONVERSATION_HITS).forEach(function (row) {
      var li = el("li", "result");
      li.appendChild(highlighted(conv.summary[row], query));
      li.appendChild(el("span", "meta",
        clusterName(conv.cluster[row]) + " \u00B7 " + conv.chat_id[row]));
      li.addEventListener("click", function () {
        if (conv.cluster[row] >= 0) { select(conv.cluster[row], "search"); }
      });
      ul.appendChild(li);
    });
    out.appendChild(ul);
    if (rows.length > MAX_CONVERSATION_HITS) {
      out.appendChild(el("p", "more", "Showing the first " + MAX_CONVERSATION_HITS +
        "; all " + nf.format(rows.length) + " are highlighted on the map."));
    }
    updateMap();
  }
  box.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(runSearch, 120);
  });
  box.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape") { box.value = ""; runSearch(); }
  });

  renderDetail(null);
})();
"""
