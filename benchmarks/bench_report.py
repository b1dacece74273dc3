"""The HTML report at scale: its size, build time and load time in Chromium.

Synthetic conversations (``make_synthetic.py``) with a ``created_at`` spread
over 2025 and ``topic``, ``language`` and ``user_id`` metadata are summarised
offline (extractive, PII scrubbed) and fitted with a quick embedder (TF-IDF
and a truncated SVD: the report's size and load time do not depend on the
embedding model), ``KMeansTreeClusterer`` (k = n / 10) and a PCA map. Then
the page is built with the conversations (transcripts, metadata filters,
trends) and opened in headless Debian Chromium with no network: the load
time is from navigation to the map drawn, the data parsed and the tree
built.

Run: python benchmarks/bench_report.py [--sizes 20000 100000] [--json FILE]

Works on older checkouts too (without ``report_html(conversations=...)``),
so today's figures can be measured beside the new ones.
"""

import argparse
import inspect
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import machine, today  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
START = datetime(2025, 1, 1, tzinfo=timezone.utc)


def conversations(n):
    """``n`` synthetic conversations with times and metadata."""
    from make_synthetic import make_conversations, request_text

    from kura_sklearn import Conversation

    rows = make_conversations(n)
    out = []
    for i, row in enumerate(rows):
        _, topic, language = request_text(i)
        # later topics grow over the year, so trends have something to show
        days = (i * 7919) % 365
        if topic % 4 == 0:
            days = 365 - (days % 120) - 1
        out.append(
            Conversation(
                **row,
                created_at=START + timedelta(days=days, minutes=i % 1440),
                metadata={
                    "topic": f"topic-{topic}",
                    "language": language,
                    "user_id": f"u-{i % (n // 5 + 1)}",
                },
            )
        )
    return out


def fit(chats):
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import Pipeline, make_pipeline

    from kura_sklearn import ConversationClusterer, ConversationSummarizer
    from kura_sklearn.cluster import KMeansTreeClusterer
    from kura_sklearn.projection import MapProjector

    pipe = Pipeline(
        [
            ("summarize", ConversationSummarizer()),
            (
                "cluster",
                ConversationClusterer(
                    embedder=make_pipeline(
                        TfidfVectorizer(min_df=2), TruncatedSVD(32, random_state=0)
                    ),
                    clusterer=KMeansTreeClusterer(
                        clusters_per_group=10, random_state=0
                    ),
                    projector=MapProjector(method="pca"),
                    max_clusters=10,
                    random_state=0,
                ),
            ),
        ]
    )
    return pipe.fit(chats)


def load_time(path, repeat=3):
    """Seconds from navigation to the map drawn, best of ``repeat``."""
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox"], headless=True
        )
        try:
            for _ in range(repeat):
                context = browser.new_context(viewport={"width": 1440, "height": 900})
                context.route(
                    "**/*",
                    lambda route: (
                        route.continue_()
                        if route.request.url.startswith(("file:", "data:", "blob:"))
                        else route.abort()
                    ),
                )
                page = context.new_page()
                started = time.perf_counter()
                page.goto(Path(path).as_uri(), timeout=300_000)
                page.wait_for_function(
                    "() => { const gd = document.getElementById('map');"
                    " return gd && gd.data && gd._fullLayout && document.querySelector("
                    "'#map .scatterlayer .point, #map .gl-canvas')"
                    " && document.querySelector('#tree .tree-node'); }",
                    timeout=300_000,
                    polling=50,
                )
                times.append(time.perf_counter() - started)
                context.close()
        finally:
            browser.close()
    return min(times)


def measure(n, out_dir):
    from kura_sklearn.report import report_html

    started = time.perf_counter()
    chats = conversations(n)
    pipe = fit(chats)
    fit_seconds = time.perf_counter() - started
    kwargs = {}
    if "conversations" in inspect.signature(report_html).parameters:
        kwargs["conversations"] = chats
    started = time.perf_counter()
    page = report_html(pipe, **kwargs)
    build = time.perf_counter() - started
    path = Path(out_dir) / f"report-{n}.html"
    path.write_text(page, encoding="utf-8")
    return {
        "n": n,
        "with_conversations": bool(kwargs),
        "fit_seconds": round(fit_seconds, 1),
        "build_seconds": round(build, 2),
        "mb": round(len(page.encode("utf-8")) / 1e6, 2),
        "load_seconds": round(load_time(path), 2),
        "load_avg": round(os.getloadavg()[0], 1),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--keep", help="directory to keep the pages in")
    args = parser.parse_args()
    print(machine())
    print(f"date {today()}")
    out_dir = args.keep or tempfile.mkdtemp(prefix="kura-report-bench-")
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    results = []
    for n in args.sizes:
        result = measure(n, out_dir)
        results.append(result)
        print(json.dumps(result), flush=True)
    print()
    print("| conversations | page MB | build s | load s (Chromium) | load avg |")
    print("|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['n']:,} | {r['mb']:.1f} | {r['build_seconds']:.1f} | "
            f"{r['load_seconds']:.1f} | {r['load_avg']} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
