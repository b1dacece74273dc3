"""The HTML report in a real browser: headless Debian Chromium via Playwright.

Skipped when ``/usr/bin/chromium`` or playwright is missing, unless
``KURA_SKLEARN_REQUIRE_BROWSER`` is set (CI sets it to 1): then a missing
browser fails. No browser is ever downloaded.

Screenshots go to ``$KURA_SKLEARN_ARTIFACTS/report.png`` (default: a
temporary directory) and, when ``KURA_SKLEARN_SCREENSHOT`` names a path,
there too.
"""

import os
import pathlib
import re

import pytest

from kura_sklearn import load_sample_conversations, make_kura_pipeline
from kura_sklearn.report import clusters_table, conversations_table

CHROMIUM = pathlib.Path("/usr/bin/chromium")
REQUIRE = os.environ.get("KURA_SKLEARN_REQUIRE_BROWSER", "").strip() not in ("", "0")

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

MISSING = [
    what
    for what, there in [
        ("playwright", sync_playwright is not None),
        (str(CHROMIUM), CHROMIUM.exists()),
    ]
    if not there
]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(MISSING) and not REQUIRE,
        reason=f"needs {' and '.join(MISSING)} (set KURA_SKLEARN_REQUIRE_BROWSER=1 "
        "to fail instead)",
    ),
]

LOCAL = ("file:", "data:", "about:", "blob:")


@pytest.fixture(scope="module")
def fitted():
    """The offline pipeline fitted once on the bundled sample."""
    return make_kura_pipeline().fit(load_sample_conversations())


@pytest.fixture(scope="module")
def report_file(fitted, tmp_path_factory):
    from kura_sklearn.report._html import write_report

    return write_report(
        fitted,
        tmp_path_factory.mktemp("report") / "report.html",
        conversations=load_sample_conversations(),
    )


@pytest.fixture(scope="module")
def browser():
    if MISSING:
        pytest.fail(
            f"KURA_SKLEARN_REQUIRE_BROWSER is set but {', '.join(MISSING)} is missing."
        )
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


class Report:
    """A loaded report page, and everything it tried that it should not."""

    def __init__(self, browser, path):
        self.context = browser.new_context(viewport={"width": 1440, "height": 900})
        self.requests, self.blocked, self.dialogs, self.errors = [], [], [], []
        self.context.route("**/*", self._route)
        self.page = page = self.context.new_page()
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        # errors include Content-Security-Policy violations
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.goto(path.as_uri())
        page.wait_for_function(
            "() => { const gd = document.getElementById('map');"
            " return gd && gd.data && gd._fullLayout"
            " && document.querySelector('#map .scatterlayer .point, #map .gl-canvas');"
            " }",
            timeout=30_000,
        )

    def _route(self, route):
        url = route.request.url
        if url.startswith(LOCAL):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def search(self, text):
        """Type ``text`` in the search box; the results' text once shown."""
        self.page.fill("#search", text)
        self.page.wait_for_function(
            "q => document.getElementById('search-results').dataset.query === q",
            arg=text.strip().lower(),
        )
        return self.page.inner_text("#search-results")

    def detail(self):
        return self.page.inner_text("#detail")

    def assert_clean(self):
        """No network, no dialog, no error, no injected image."""
        assert self.blocked == []
        assert all(url.startswith(LOCAL) for url in self.requests), self.requests
        assert self.dialogs == []
        assert self.errors == []
        assert self.page.evaluate("document.querySelectorAll('img').length") == 0

    def close(self):
        self.context.close()


@pytest.fixture
def report(browser, report_file):
    page = Report(browser, report_file)
    try:
        yield page
        page.assert_clean()
    finally:
        page.close()


def test_map_has_one_point_per_conversation(report, fitted):
    n = len(conversations_table(fitted))
    traces = report.page.evaluate(
        "document.getElementById('map').data.map(t => [t.x.length, t.name])"
    )
    assert sum(length for length, _ in traces) == n == 300
    table = clusters_table(fitted)
    roots = table[table["parent_id"].isna()]
    assert len(traces) == len(roots)
    svg_points = report.page.evaluate(
        "document.querySelectorAll('#map .scatterlayer .point').length"
    )
    assert svg_points == n
    header = report.page.inner_text("header")
    assert "300 conversations" in header
    report.assert_clean()


def test_clicking_the_tree_shows_details(report, fitted):
    table = clusters_table(fitted)
    roots = table[table["parent_id"].isna()].sort_values("count", ascending=False)
    root = roots.iloc[0]
    report.page.click(f'.tree-node[data-cluster-id="{root["id"]}"] > .tree-label')
    detail = report.detail()
    assert root["name"] in detail
    assert f"{root['count']:,}" in detail and "conversations" in detail
    assert root["description"].split(".")[0] in detail
    # its children are now visible; a child's detail has the root as its path
    child = (
        table.set_index("id").loc[list(root["children"])].sort_values("count").iloc[-1]
    )
    report.page.click(f'.tree-node[data-cluster-id="{child.name}"] > .tree-label')
    detail = report.detail()
    assert child["name"] in detail and f"{child['count']:,}" in detail
    breadcrumb = report.page.inner_text("#detail .breadcrumb")
    assert root["name"] in breadcrumb and breadcrumb.startswith("All conversations")
    # the selected cluster's points are highlighted on the map
    selected = report.page.evaluate(
        "document.getElementById('map').data"
        ".reduce((n, t) => n + (t.selectedpoints || []).length, 0)"
    )
    assert selected == child["count"]
    # the breadcrumb leads back
    report.page.click("#detail .breadcrumb button >> nth=0")
    assert "All conversations" in report.page.inner_text("#detail h2")


def test_clicking_a_point_selects_its_cluster(report, fitted):
    table = clusters_table(fitted).set_index("id")
    report.page.evaluate(
        "document.getElementById('map').on('plotly_click',"
        " e => { window.clicked = e.points[0].customdata[1]; })"
    )
    box = report.page.locator("#map .scatterlayer .trace .point").first.bounding_box()
    report.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    report.page.mouse.down()
    report.page.mouse.up()
    report.page.wait_for_function("window.clicked !== undefined")
    clicked = report.page.evaluate("window.clicked")
    assert report.page.inner_text("#detail h2") == table.loc[clicked, "name"]
    assert "Base cluster" in report.detail()


def test_search_finds_a_summary(report, fitted):
    conversations = conversations_table(fitted)
    summary = conversations.set_index("chat_id").loc["sample-0004", "summary"]
    assert "SettingWithCopyWarning" in summary
    results = report.search("settingwithcopywarning")
    assert summary in results
    n_matches = int(
        conversations["summary"].str.contains("SettingWithCopyWarning").sum()
    )
    assert re.search(rf"\b{n_matches} conversations?\b", results)
    # the matches are highlighted on the map and marked in the text
    selected = report.page.evaluate(
        "document.getElementById('map').data"
        ".reduce((n, t) => n + (t.selectedpoints || []).length, 0)"
    )
    assert selected == n_matches
    assert report.page.locator("#search-results mark").count() >= n_matches
    # clicking a result selects its cluster
    cluster = conversations.set_index("chat_id").loc["sample-0004", "cluster_name"]
    report.page.locator("#search-results li", has_text=summary[:40]).first.click()
    assert report.page.inner_text("#detail h2") == cluster
    # cluster names are searched too
    name = clusters_table(fitted)["name"].iloc[0]
    results = report.search(name.split(",")[0])
    assert name in results


def test_dangerous_text_is_shown_not_run(report, fitted):
    results = report.search("alert(1)")
    assert "<script>alert(1)</script>" in results
    assert '"><img src=x onerror=alert(1)>' in results
    results = report.search("<b>bold</b>")
    assert '<b>bold</b> & "quotes"' in results
    count = report.page.evaluate(
        "document.querySelectorAll('#search-results b, #search-results script,"
        " #search-results img, #detail script, #tree script, [onerror]').length"
    )
    assert count == 0
    # the cluster's sample summaries show it as text too
    table = conversations_table(fitted)
    row = int(table.index[table["chat_id"] == "sample-0168"][0])
    cluster = clusters_table(fitted).set_index("id").loc[table["cluster_id"][row]]
    report.page.locator("#search-results li", has_text="bold").first.click()
    assert report.page.inner_text("#detail h2") == cluster["name"]
    if cluster["count"] <= 20:
        assert '<b>bold</b> & "quotes"' in report.detail()
    # hovering its point shows the text, not bold markup
    hover = report.page.evaluate(
        """row => {
          const gd = document.getElementById('map');
          for (let i = 0; i < gd.data.length; i++) {
            const j = gd.data[i].customdata.findIndex(cd => cd[0] === row);
            if (j >= 0) {
              Plotly.Fx.hover(gd, [{curveNumber: i, pointNumber: j}]);
              return document.querySelector('#map .hoverlayer').textContent;
            }
          }
          return null;
        }""",
        row,
    )
    assert '<b>bold</b> & "quotes"' in hover
    report.page.wait_for_timeout(300)
    assert report.dialogs == []


def test_webgl_map(browser, fitted, tmp_path, monkeypatch):
    """Large maps use WebGL, which needs the policy's 'unsafe-eval'."""
    from kura_sklearn.report import _plot
    from kura_sklearn.report._html import write_report

    monkeypatch.setattr(_plot, "WEBGL_THRESHOLD", 100)
    report = Report(browser, write_report(fitted, tmp_path / "webgl.html"))
    try:
        traces = report.page.evaluate(
            "document.getElementById('map').data.map(t => [t.type, t.x.length])"
        )
        assert {kind for kind, _ in traces} == {"scattergl"}
        assert sum(length for _, length in traces) == 300
        report.search("pandas")
        selected = report.page.evaluate(
            "document.getElementById('map').data"
            ".reduce((n, t) => n + (t.selectedpoints || []).length, 0)"
        )
        summaries = conversations_table(fitted)["summary"].str.lower()
        assert selected == int(summaries.str.contains("pandas").sum()) > 0
        report.assert_clean()
    finally:
        report.close()


def _viewer(report):
    """The open conversation viewer's chat_id and text."""
    report.page.wait_for_selector("#viewer:not([hidden])")
    return report.page.inner_text("#viewer-title"), report.page.inner_text("#viewer")


def _close_viewer(report):
    report.page.keyboard.press("Escape")
    report.page.wait_for_selector("#viewer", state="hidden")


def test_conversation_from_a_point(report, fitted):
    table = conversations_table(fitted)
    report.page.evaluate(
        "document.getElementById('map').on('plotly_click',"
        " e => { window.clickedRow = e.points[0].customdata[0]; })"
    )
    box = report.page.locator("#map .scatterlayer .trace .point").nth(5).bounding_box()
    report.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    report.page.wait_for_function("window.clickedRow !== undefined")
    row = report.page.evaluate("window.clickedRow")
    chat_id, text = _viewer(report)
    assert chat_id == table["chat_id"][row]
    conversation = {c.chat_id: c for c in load_sample_conversations()}[chat_id]
    assert f"{len(conversation.messages)} message" in text.lower()
    assert report.page.locator("#viewer .message").count() == len(conversation.messages)
    assert table["summary"][row] in text
    # its cluster is selected behind it
    assert report.page.inner_text("#detail h2") == table["cluster_name"][row]
    _close_viewer(report)


def test_conversation_from_a_search_hit_and_a_sample(report, fitted):
    report.search("settingwithcopywarning")
    report.page.locator("#search-results li.result[data-row]").first.click()
    chat_id, text = _viewer(report)
    conversation = {c.chat_id: c for c in load_sample_conversations()}[chat_id]
    assert "settingwithcopywarning" in conversation.messages[0].content.lower()
    assert conversation.messages[-1].content[:60] in text
    _close_viewer(report)
    # a cluster's sample list
    table = clusters_table(fitted)
    root = table[table["parent_id"].isna()].sort_values("count").iloc[-1]
    report.page.click(f'.tree-node[data-cluster-id="{root["id"]}"] > .tree-label')
    sample = report.page.locator("#detail .samples li").first
    expected = report.page.evaluate(
        "row => JSON.parse(document.getElementById('report-data').textContent)"
        ".conversations.chat_id[row]",
        int(sample.get_attribute("data-row")),
    )
    sample.locator(".open-conversation").click()
    chat_id, _ = _viewer(report)
    assert chat_id == expected
    # the close button closes it too
    report.page.click("#viewer-close")
    report.page.wait_for_selector("#viewer", state="hidden")


def test_transcript_is_shown_as_text_and_long_messages_expand(
    browser, fitted, tmp_path
):
    from kura_sklearn.report._html import write_report

    payload = '"><img src=x onerror=alert(1)> <script>alert(2)</script>'
    conversations = load_sample_conversations()
    for i, c in enumerate(conversations):
        if c.chat_id == "sample-0108":
            long = payload + " then " + "more words " * 200 + "<b>end</b>"
            record = c.model_dump()
            record["messages"][1:] = [{"role": "assistant", "content": long}]
            conversations[i] = type(c).model_validate(record)
    path = write_report(fitted, tmp_path / "r.html", conversations=conversations)
    report = Report(browser, path)
    try:
        report.search("onerror")
        report.page.locator("#search-results li.result", has_text="sample-0108").click()
        chat_id, text = _viewer(report)
        assert chat_id == "sample-0108"
        assert '"><img src=x onerror=alert(1)>' in text
        assert "<b>end</b>" not in text  # clipped
        report.page.click("#viewer .message .expand")
        text = report.page.inner_text("#viewer")
        assert "<script>alert(2)</script>" in text and "<b>end</b>" in text
        count = report.page.evaluate(
            "document.querySelectorAll('#viewer img, #viewer script, #viewer b,"
            " [onerror]').length"
        )
        assert count == 0
        report.page.wait_for_timeout(300)
        report.assert_clean()
    finally:
        report.close()


def _traces(report):
    return report.page.evaluate(
        "document.getElementById('map').data.map(t => [t.name, t.x.length])"
    )


def test_colour_level_switches_groups_and_labels(report, fitted):
    table = clusters_table(fitted)
    n_roots = int(table["parent_id"].isna().sum())
    n_base = int((table["level"] == 0).sum())
    assert len(_traces(report)) == n_roots
    labels = report.page.evaluate(
        "document.getElementById('map').layout.annotations.length"
    )
    assert 0 < labels <= n_roots
    report.page.select_option("#color-level", "0")
    report.page.wait_for_function(
        f"document.getElementById('map').data.length === {n_base}"
    )
    traces = _traces(report)
    assert sum(n for _, n in traces) == 300
    assert report.page.evaluate(
        "document.getElementById('map').layout.legend.title.text"
    ) == ("<b>Base cluster</b>")
    names = set(table[table["level"] == 0]["name"].str[:20])
    assert any(name[:20] in names for name, _ in traces)
    # a selected node's points stand out, the others dim
    base = table[table["level"] == 0].sort_values("count").iloc[-1]
    report.page.evaluate(
        'id => { document.querySelectorAll("details.tree-node")'
        ".forEach(d => d.open = true); }",
        0,
    )
    report.page.click(f'.tree-node[data-cluster-id="{base["id"]}"] > .tree-label')
    selected = report.page.evaluate(
        "document.getElementById('map').data"
        ".reduce((n, t) => n + (t.selectedpoints || []).length, 0)"
    )
    assert selected == base["count"]
    report.page.select_option("#color-level", "top")
    report.page.wait_for_function(
        f"document.getElementById('map').data.length === {n_roots}"
    )


def _expected_filtered(fitted, language, start, end):
    import pandas as pd

    table = conversations_table(fitted)
    times = {c.chat_id: c.created_at for c in load_sample_conversations()}
    day = pd.to_datetime(table["chat_id"].map(times), utc=True).dt.strftime("%Y-%m-%d")
    keep = table["languages"].map(lambda v: language in [x.lower() for x in v])
    keep &= (day >= start) & (day <= end)
    return table[keep]


def test_filters_change_the_tree_counts(report, fitted):
    start, end = "2025-03-01", "2025-08-31"
    kept = _expected_filtered(fitted, "spanish", start, end)
    assert 0 < len(kept) < len(_expected_filtered(fitted, "spanish", "2025", "2026"))
    report.page.click('details.filter-facet[data-facet="languages"] > summary')
    report.page.check(
        'details.filter-facet[data-facet="languages"] input[value="spanish"]'
    )
    report.page.fill("#time-from", start)
    report.page.fill("#time-to", end)
    report.page.dispatch_event("#time-to", "change")
    assert (
        report.page.inner_text("#filter-status") == f"{len(kept)} of 300 conversations"
    )
    clusters = clusters_table(fitted)
    chains = kept[
        [
            "cluster_id",
            *(c for c in kept if c.startswith("level_") and c.endswith("_id")),
        ]
    ]
    for cid in clusters["id"]:
        expected = int((chains == cid).any(axis=1).sum())
        shown = report.page.text_content(
            f'.tree-node[data-cluster-id="{cid}"] > .tree-label .tree-count'
        )
        assert shown == str(expected), cid
    # the map shows the filtered conversations only
    assert sum(n for _, n in _traces(report)) == len(kept)
    # a cluster's details count and break down the filtered ones
    root = clusters.set_index("id").loc[kept["level_1_id"].mode()[0]]
    report.page.click(f'.tree-node[data-cluster-id="{root.name}"] > .tree-label')
    detail = report.detail()
    assert "Filtered:" in detail
    breakdown = report.page.inner_text('#detail .breakdown[data-facet="languages"]')
    assert "spanish" in breakdown and "english" not in breakdown
    report.page.click("#filter-clear")
    assert report.page.inner_text("#filter-status") == "All 300 conversations"
    assert sum(n for _, n in _traces(report)) == 300


def test_trends_per_cluster_and_fastest_growing(report, fitted):
    from kura_sklearn.report import growth_table, trends_table

    trends = trends_table(conversations_table(fitted), load_sample_conversations())
    growth = growth_table(trends)
    names = clusters_table(fitted).set_index("id")["name"]
    overview = report.page.inner_text("#detail .growth")
    assert names[int(growth["cluster_id"].iloc[0])] in overview
    assert report.page.locator("#detail svg.trend rect").count() == 12  # months
    table = clusters_table(fitted)
    root = table[table["parent_id"].isna()].sort_values("count").iloc[-1]
    report.page.click(f'.tree-node[data-cluster-id="{root["id"]}"] > .tree-label')
    bars = report.page.evaluate(
        "[...document.querySelectorAll('#detail svg.trend rect')]"
        ".map(r => r.querySelector('title').textContent)"
    )
    counts = trends[trends["cluster_id"] == root["id"]]["count"].tolist()
    assert [int(b.split(": ")[1].replace(",", "")) for b in bars] == counts


def test_screenshot(report, fitted, tmp_path):
    # what an analyst sees: the overview, a cluster under filters with the
    # map coloured by base cluster, and a conversation
    table = clusters_table(fitted)
    largest = table[table["parent_id"].isna()].sort_values("count").iloc[-1]
    # open the largest top-level cluster in the tree, without selecting it
    report.page.evaluate(
        'id => { document.querySelector(`.tree-node[data-cluster-id="${id}"]`)'
        ".open = true; }",
        int(largest["id"]),
    )
    artifacts = pathlib.Path(os.environ.get("KURA_SKLEARN_ARTIFACTS", tmp_path))
    artifacts.mkdir(parents=True, exist_ok=True)
    paths = [artifacts / "report.png"]
    if os.environ.get("KURA_SKLEARN_SCREENSHOT"):
        paths.append(pathlib.Path(os.environ["KURA_SKLEARN_SCREENSHOT"]))
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        report.page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000

    report.page.select_option("#color-level", "0")
    report.page.click('details.filter-facet[data-facet="metadata.topic"] > summary')
    for topic in ("python_debugging", "data_analysis_ml"):
        report.page.check(
            f'details.filter-facet[data-facet="metadata.topic"] input[value="{topic}"]'
        )
    # the top-level cluster with the most conversations left
    busiest = report.page.evaluate(
        "[...document.querySelectorAll('#tree > .tree-node')].map(n =>"
        " [+n.querySelector('.tree-count').textContent.replace(/,/g, ''),"
        " n.dataset.clusterId]).sort((a, b) => b[0] - a[0])[0][1]"
    )
    report.page.click(f'.tree-node[data-cluster-id="{busiest}"] > .tree-label')
    report.page.wait_for_timeout(300)
    path = artifacts / "report-filtered.png"
    report.page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000

    report.page.click("#filter-clear")
    report.search("settingwithcopywarning")
    report.page.locator("#search-results li.result[data-row]").first.click()
    _viewer(report)
    path = artifacts / "report-conversation.png"
    report.page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
