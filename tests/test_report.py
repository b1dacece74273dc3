"""The map figure and the self-contained HTML report (no browser here)."""

import base64
import hashlib
import html
import json
import re

import numpy as np
import pytest

from kura_sklearn import (
    ConversationClusterer,
    HDBSCANClusterer,
    KMeansClusterer,
    load_sample_conversations,
    make_kura_pipeline,
)
from kura_sklearn.report import _html as report_module
from kura_sklearn.report import _plot as plot_module
from kura_sklearn.report import clusters_table, conversations_table
from kura_sklearn.report._html import report_html, write_report
from kura_sklearn.report._plot import plot_map

DANGEROUS = {
    "sample-0286": "<script>alert(1)</script>",
    "sample-0108": '"><img src=x onerror=alert(1)>',
    "sample-0168": '<b>bold</b> & "quotes"',
}
DATA_BLOCK = re.compile(
    r'<script type="application/json" id="report-data">(.*?)</script>', re.S
)
# the only markup the map's hover and legend text may contain
PLOTLY_TAGS = re.compile(r"<br>|</?b>")


@pytest.fixture(scope="module")
def pipeline():
    """The offline pipeline fitted once on the bundled sample (~20 s)."""
    return make_kura_pipeline().fit(load_sample_conversations())


@pytest.fixture(scope="module")
def page(pipeline):
    return report_html(pipeline)


@pytest.fixture(scope="module")
def data(page):
    (block,) = DATA_BLOCK.findall(page)
    return json.loads(block)


@pytest.fixture(scope="module")
def noisy():
    """Plain texts (no facets), noise points, and roots that are base clusters."""
    texts = [
        "reset my password",
        "forgot my login password",
        "password reset link expired",
        "cannot log in, password rejected",
        "bake sourdough bread",
        "bread that will not rise",
        "sourdough starter help",
        "bread crust too hard",
        "translate hello to japanese",
        "what is the capital of peru",
    ]
    model = ConversationClusterer(
        clusterer=HDBSCANClusterer(min_cluster_size=3), max_clusters=2, random_state=0
    )
    return model.fit(texts)


def _points(fig):
    return sum(len(trace.x) for trace in fig.data)


def _roots(table):
    return table[table["parent_id"].isna()].sort_values(
        ["count", "id"], ascending=[False, True]
    )


# ---- plot_map ----


def test_plot_map_one_point_per_conversation(pipeline):
    fig = plot_map(pipeline)
    conversations = conversations_table(pipeline)
    assert _points(fig) == len(conversations) == 300
    rows = np.concatenate([np.asarray(t.customdata)[:, 0] for t in fig.data])
    assert sorted(rows.tolist()) == list(range(300))
    for trace in fig.data:
        positions, labels = np.asarray(trace.customdata).T
        # each point sits where the table puts its conversation
        np.testing.assert_allclose(trace.x, conversations["x"].to_numpy()[positions])
        np.testing.assert_array_equal(
            labels, conversations["cluster_id"].to_numpy()[positions]
        )


def test_plot_map_one_trace_per_root(pipeline):
    fig = plot_map(pipeline)
    roots = _roots(clusters_table(pipeline))
    assert [t.meta for t in fig.data] == roots["id"].tolist()
    for trace, name, count in zip(fig.data, roots["name"], roots["count"]):
        # long names are shortened in the legend
        assert trace.name.endswith(f" ({count:,})")
        assert trace.name.startswith(html.escape(name)[:20])
        assert len(trace.x) == count
    assert len({t.marker.color for t in fig.data}) == len(fig.data)
    assert all(t.type == "scatter" for t in fig.data)


def test_plot_map_hover_and_legend_escaped(pipeline):
    fig = plot_map(pipeline)
    ids = conversations_table(pipeline)["chat_id"].to_numpy()
    hover = {}
    for trace in fig.data:
        for (row, _), text in zip(np.asarray(trace.customdata), trace.hovertext):
            hover[ids[row]] = text
            # nothing but the map's own <br> and <b> is markup
            assert "<" not in PLOTLY_TAGS.sub("", text)
            assert "Cluster:</b>" in text and "Top level:</b>" in text
        assert "<" not in trace.name
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hover["sample-0286"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in hover["sample-0108"]
    assert "&lt;b&gt;bold&lt;/b&gt; &amp;" in hover["sample-0168"]
    # plotly decodes numeric references but not &quot;
    assert "&quot;" not in hover["sample-0168"]
    assert "&#34;quotes&#34;" in hover["sample-0168"]


def test_plot_map_color_level(pipeline):
    table = clusters_table(pipeline)
    base = plot_map(pipeline, color_level=0)
    assert len(base.data) == int((table["level"] == 0).sum())
    assert _points(base) == 300
    level_1 = plot_map(pipeline, color_level=1)
    # a level-1 cluster, or a base cluster with no parent at level 1 (the
    # tree skips parents of a single child), colours each point
    levels = table.set_index("id")["level"]
    parent_level = table["parent_id"].map(levels).astype("float").fillna(-1)
    unmerged = (table["level"] == 0) & ~(parent_level == 1)
    assert len(level_1.data) == int((table["level"] == 1).sum() + unmerged.sum())
    assert "Level 1" in level_1.layout.legend.title.text
    # a level above the top colours by root
    above = plot_map(pipeline, color_level=99)
    assert [t.meta for t in above.data] == _roots(table)["id"].tolist()
    with pytest.raises(ValueError, match="color_level"):
        plot_map(pipeline, color_level="bottom")
    with pytest.raises(ValueError, match="color_level"):
        plot_map(pipeline, color_level=-1)
    with pytest.raises(TypeError, match="color_level"):
        plot_map(pipeline, color_level=1.5)


def test_plot_map_max_points_is_deterministic(pipeline):
    fig = plot_map(pipeline, max_points=50)
    assert _points(fig) == 50
    again = plot_map(pipeline, max_points=50)
    rows = [np.asarray(t.customdata)[:, 0].tolist() for t in fig.data]
    assert rows == [np.asarray(t.customdata)[:, 0].tolist() for t in again.data]
    other = plot_map(pipeline, max_points=50, random_state=1)
    assert rows != [np.asarray(t.customdata)[:, 0].tolist() for t in other.data]
    assert _points(plot_map(pipeline, max_points=10_000)) == 300
    with pytest.raises(ValueError, match="max_points"):
        plot_map(pipeline, max_points=0)


def test_plot_map_uses_webgl_for_many_points(pipeline, monkeypatch):
    monkeypatch.setattr(plot_module, "WEBGL_THRESHOLD", 100)
    assert all(t.type == "scattergl" for t in plot_map(pipeline).data)
    assert all(t.type == "scatter" for t in plot_map(pipeline, max_points=100).data)


def test_plot_map_noise_trace(noisy):
    fig = plot_map(noisy)
    n_noise = int((noisy.labels_ == -1).sum())
    assert n_noise > 0
    assert fig.data[-1].name == "noise" and fig.data[-1].meta == -1
    assert len(fig.data[-1].x) == n_noise
    assert len(fig.data) == 1 + sum(c.parent_id is None for c in noisy.clusters_)
    assert _points(fig) == len(noisy.labels_)
    assert "noise" in fig.data[-1].hovertext[0]


def test_plot_map_rejects_unfitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        plot_map(ConversationClusterer(clusterer=KMeansClusterer(n_clusters=2)))


# ---- report_html ----


def test_report_is_self_contained(page):
    lower = page.lower()
    assert lower.startswith("<!doctype html>")
    assert "<script src" not in lower and "<link" not in lower
    assert "<iframe" not in lower and "@import" not in lower
    # plotly.js holds URL strings in its code; the markup around the scripts
    # and the styles refer to nothing outside the file
    markup = re.sub(r"<script[^>]*>.*?</script>", "", page, flags=re.S)
    assert not re.search(r"""(src|href|action)\s*=""", markup, re.I)
    assert not re.search(r"url\(|//", markup.split("</style>")[0].split("<style>")[1])
    assert "http:" not in markup.lower() and "https:" not in markup.lower()
    # three scripts: the data, plotly.js, the page's own
    assert lower.count("<script") == 3 and lower.count("</script") == 3
    assert 'id="map"' in page and 'id="detail"' in page
    assert 'id="search"' in page and 'id="search-results"' in page


def test_report_csp_allows_only_its_own_scripts(page):
    (csp,) = re.findall(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page)
    csp = html.unescape(csp)
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp.split(";")[1]
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(scripts) == 2
    for script in scripts:
        digest = hashlib.sha256(script.encode("utf-8")).digest()
        assert f"'sha256-{base64.b64encode(digest).decode()}'" in csp
    assert "unsafe-eval" not in csp  # only WebGL maps need it


def test_report_data_round_trips(pipeline, data):
    conversations = conversations_table(pipeline)
    clusters = clusters_table(pipeline)
    assert data["n_conversations"] == len(conversations) == 300
    assert data["n_plotted"] == 300 and data["n_noise"] == 0
    assert data["n_base_clusters"] == int((clusters["level"] == 0).sum())
    assert data["n_levels"] == int(clusters["level"].max()) + 1
    assert data["conversations"]["summary"] == conversations["summary"].tolist()
    assert data["conversations"]["chat_id"] == conversations["chat_id"].tolist()
    assert data["conversations"]["cluster"] == conversations["cluster_id"].tolist()
    assert [c["id"] for c in data["clusters"]] == clusters["id"].tolist()
    assert [c["count"] for c in data["clusters"]] == clusters["count"].tolist()
    assert [c["name"] for c in data["clusters"]] == clusters["name"].tolist()
    assert data["roots"] == _roots(clusters)["id"].tolist()
    members = dict(zip(clusters["id"], clusters["member_ids"]))
    ids = conversations["chat_id"].tolist()
    for cluster in data["clusters"]:
        samples = cluster["samples"]
        assert (
            0 < len(samples) <= min(report_module.SAMPLES_PER_CLUSTER, cluster["count"])
        )
        assert {ids[row] for row in samples} <= set(members[cluster["id"]])
        counts = [cluster_by_id["count"] for cluster_by_id in data["clusters"]]
        assert [counts[c] for c in cluster["children"]] == sorted(
            (counts[c] for c in cluster["children"]), reverse=True
        )
    # the figure: one point per conversation
    points = sum(len(trace["x"]) for trace in data["figure"]["data"])
    assert points == 300
    rows = sorted(row for t in data["figure"]["data"] for row, _ in t["customdata"])
    assert rows == list(range(300))
    # each cluster's ancestors, root first, as its parents say
    by_id = {cluster["id"]: cluster for cluster in data["clusters"]}
    for cluster in data["clusters"]:
        chain, parent = [], cluster["parent"]
        while parent is not None:
            chain.insert(0, parent)
            parent = by_id[parent]["parent"]
        assert cluster["ancestors"] == chain


def test_report_map_is_plot_map(pipeline, data):
    # the page draws plot_map's traces, hover text included: one place writes
    # them, and the page computes neither hover text nor ancestry
    fig = plot_map(pipeline)
    traces = data["figure"]["data"]
    assert len(traces) == len(fig.data)
    for trace, expected in zip(traces, fig.data):
        assert trace["type"] == expected.type and trace["name"] == expected.name
        assert trace["meta"] == expected.meta
        assert trace["marker"]["color"] == expected.marker.color
        assert trace["hovertext"] == list(expected.hovertext)
        assert trace["customdata"] == np.asarray(expected.customdata).tolist()
        np.testing.assert_allclose(trace["x"], expected.x, rtol=1e-6)
    assert data["figure"]["layout"]["legend"] == fig.layout.legend.to_plotly_json()


def _facet(data, key):
    (facet,) = [f for f in data["facets"] if f["key"] == key]
    return facet


def test_report_facets_offline(data):
    # offline summaries carry languages only; without the conversations the
    # page has no metadata filters, no times and no transcripts
    assert [f["key"] for f in data["facets"]] == ["languages"]
    languages = _facet(data, "languages")
    assert languages["kind"] == "multi" and len(languages["codes"]) == 300
    counts = dict(zip(languages["values"], languages["counts"]))
    assert counts["english"] > 100
    assert languages["counts"] == sorted(languages["counts"], reverse=True)
    assert data["time"] is None
    assert data["transcripts"]["included"] is False


def test_report_facet_codes():
    import pandas as pd

    summaries = pd.DataFrame(
        {
            "summary": ["reset my password", "forgot my password", "bake bread"] * 2,
            "languages": [["english"], ["English", "python"], ["french"]] * 2,
            "concerning_score": [1.0, 3.0, None] * 2,
            "user_frustration": [2.0, 4.4, 5.0] * 2,
            "assistant_errors": [["wrong"], [], None] * 2,
        },
        index=[f"c{i}" for i in range(6)],
    )
    model = ConversationClusterer(
        clusterer=KMeansClusterer(n_clusters=2), max_clusters=1, random_state=0
    ).fit(summaries)
    (block,) = DATA_BLOCK.findall(report_html(model))
    data = json.loads(block)
    keys = ["languages", "concerning_score", "user_frustration", "assistant_errors"]
    assert [f["key"] for f in data["facets"]] == keys
    languages = _facet(data, "languages")
    assert languages["values"] == ["english", "french", "python"]
    assert languages["counts"] == [4, 2, 2]
    assert languages["codes"][:3] == [[0], [0, 2], [1]]
    # scores are the categories 1-5 (rounded), -1 where unknown
    concerning = _facet(data, "concerning_score")
    assert concerning["values"] == ["1", "2", "3", "4", "5"]
    assert concerning["codes"][:3] == [0, 2, -1]
    assert _facet(data, "user_frustration")["codes"][:3] == [1, 3, 4]
    errors = _facet(data, "assistant_errors")
    assert errors["values"] == ["with errors", "without errors"]
    assert errors["codes"][:3] == [0, 1, -1] and errors["counts"] == [2, 2]


def test_dangerous_text_only_escaped(page):
    (block,) = DATA_BLOCK.findall(page)
    outside = DATA_BLOCK.sub("", page)
    for text in DANGEROUS.values():
        assert text not in page
        assert text not in outside
    for raw in ("alert(1)</script", "<img", "<b>bold"):
        assert raw not in page
    # the data block holds no raw <, > or &: it cannot end early
    assert not set("<>&") & set(block)
    assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in block


def test_title_is_escaped(pipeline):
    title = "<script>alert('title')</script> & co"
    page = report_html(pipeline, title=title)
    assert "<script>alert" not in page
    # shown as written, in whichever form of escape the template engine uses
    markup = re.sub(r"<script[^>]*>.*?</script>", "", page, flags=re.S)
    (in_title,) = re.findall(r"<title>(.*?)</title>", markup)
    (in_heading,) = re.findall(r"<h1>(.*?)</h1>", markup)
    assert in_title == in_heading
    assert not set("<>'\"") & set(in_title) and html.unescape(in_title) == title
    (block,) = DATA_BLOCK.findall(page)
    assert json.loads(block)["title"] == title


def test_report_max_points(pipeline):
    page = report_html(pipeline, max_points=40)
    (block,) = DATA_BLOCK.findall(page)
    data = json.loads(block)
    assert data["n_plotted"] == 40
    assert sum(len(t["x"]) for t in data["figure"]["data"]) == 40
    assert len(data["conversations"]["summary"]) == 300  # search covers all
    assert "random sample" in page


def test_report_plain_texts_with_noise(noisy):
    page = report_html(noisy, title="Small")
    (block,) = DATA_BLOCK.findall(page)
    data = json.loads(block)
    assert data["facets"] == []
    assert data["n_noise"] == int((noisy.labels_ == -1).sum()) > 0
    assert data["n_levels"] == 1
    assert sum(len(t["x"]) for t in data["figure"]["data"]) == len(noisy.labels_)
    assert "noise</li>" in page


def test_report_withholds_samples_of_hidden_clusters():
    texts = ["reset my password", "forgot my password", "password expired"]
    texts += ["bake bread", "bread will not rise", "translate hello"]
    model = ConversationClusterer(
        clusterer=KMeansClusterer(n_clusters=3),
        max_clusters=1,
        min_cluster_size=3,
        random_state=0,
    ).fit(texts)
    (block,) = DATA_BLOCK.findall(report_html(model))
    clusters = json.loads(block)["clusters"]
    hidden = [c for c in clusters if c["hidden"]]
    assert hidden
    assert all(c["samples"] == [] and c["keywords"] == [] for c in hidden)
    assert all(c["samples"] for c in clusters if not c["hidden"])


def test_report_accepts_the_clusterer_step(pipeline, data):
    (block,) = DATA_BLOCK.findall(report_html(pipeline[-1]))
    assert json.loads(block)["conversations"] == data["conversations"]


def test_write_report(pipeline, page, tmp_path):
    path = write_report(pipeline, tmp_path / "out" / "report.html")
    assert path == tmp_path / "out" / "report.html"
    assert path.is_file()
    assert path.read_text(encoding="utf-8") == page
    assert 2_000_000 < path.stat().st_size < 8_000_000
    titled = write_report(pipeline, str(tmp_path / "titled.html"), title="Sample")
    assert "<h1>Sample</h1>" in titled.read_text(encoding="utf-8")


def test_report_size_grows_modestly():
    """Bytes per conversation stay small (plotly.js is the fixed ~4.8 MB)."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    from kura_sklearn.projection import MapProjector

    rng = np.random.default_rng(0)
    words = "alpha beta gamma delta python bread password travel recipe".split()
    texts = [
        f"conversation {i} about " + " ".join(rng.choice(words, 5)) for i in range(2000)
    ]
    model = ConversationClusterer(
        embedder=make_pipeline(TfidfVectorizer(), TruncatedSVD(8, random_state=0)),
        clusterer=KMeansClusterer(n_clusters=40),
        projector=MapProjector(method="pca"),
        random_state=0,
    ).fit(texts)
    small = len(report_html(model, max_points=1).encode())
    full = len(report_html(model).encode())
    assert (full - small) / 2000 < 400  # bytes per point on the map
    data = json.loads(DATA_BLOCK.findall(report_html(model))[0])
    assert sum(len(t["x"]) for t in data["figure"]["data"]) == 2000


def test_report_and_tables_show_who_named_each_cluster(fake_llm):
    # Issue 12, item 10: a name the LLM failed to write is a fallback the
    # reader sees: name_source in the clusters table and in the report's
    # details. Every naming call fails (only the naming prompt has a <group>
    # tag); the merge calls succeed.
    from _loopback import on_server
    from sklearn.decomposition import PCA

    from kura_sklearn import KMeansClusterer
    from kura_sklearn.naming import LLMNamer

    fake_llm.configure(permanent_fault_marker="<group>")
    texts = [
        f"{topic} question {i}"
        for topic in ("password", "bread", "japanese", "taxes")
        for i in range(5)
    ]
    namer = LLMNamer("m", **on_server(fake_llm, max_retries=0))
    model = ConversationClusterer(
        clusterer=KMeansClusterer(n_clusters=4),
        namer=namer,
        projector=PCA(2),
        max_clusters=2,
        random_state=0,
    ).fit(texts)
    table = clusters_table(model)
    levels = table.set_index("id")["level"]
    sources = table.set_index("id")["name_source"]
    assert (sources[levels == 0] == "fallback").all()
    assert (sources[levels > 0] == "llm").all() and (levels > 0).any()
    assert model.llm_usage_["naming"]["fallbacks"] == 4

    page = report_html(model)
    (block,) = DATA_BLOCK.findall(page)
    shown = {c["id"]: c["name_source"] for c in json.loads(block)["clusters"]}
    assert shown == sources.to_dict()
    assert "name source: fallback" in page and "name source: llm" in page
