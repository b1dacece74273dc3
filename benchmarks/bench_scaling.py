"""Cost as the work grows: time and peak memory of every stage, 1k to 100k.

The offline pipeline (extractive summaries, all-MiniLM-L6-v2, a clusterer,
keyword names, the hierarchy, the map, the tables and the HTML report) on
synthetic conversations (``make_synthetic.py``), each size in a fresh
process. Per stage: wall time, CPU time (user + system, all threads) and
peak resident memory (Linux ``VmHWM``, reset at each stage start through
``/proc/self/clear_refs``). The exponent of each stage is the slope of
log(time) against log(n); 1 is linear, 2 quadratic.

With ``--llm`` the same pipeline runs its LLM parts against the loopback
OpenAI-compatible server of the tests (``tests/_openai_server.py``, started
by this script in its own process, ``--latency`` seconds per answer, 0 by
default so that the project's own cost shows): ``ConversationSummarizer``
with a model, and ``LLMNamer`` for the names and the hierarchy, both with
``--max-concurrency`` requests in flight. The LLM calls per stage are
counted by the server.

Run: python benchmarks/bench_scaling.py [--sizes 1000 10000 100000]
         [--clusterers tree kmeans] [--flat-max 10000] [--embed-max 10000]
         [--llm] [--latency 0] [--max-concurrency 20]

Embedding is measured for real up to ``--embed-max`` texts (the model is
loaded and warmed before the clock starts); above it the embeddings are read
from a cache (``benchmarks/.cache``, made once by this script or by
``make_synthetic.embed_texts``) and the embed stage is extrapolated linearly
from the largest measured rate (reported as such). Inside the clusterer the
embedder is then a ``PrecomputedEmbedder`` over the same vectors, so its
"lookup" stage is the store look-up only. umap-learn compiles with numba in
every new process: each worker fits UMAP once on random data before the
clock starts, so the map stage is a warm fit. Flat K-means (``kmeans``) is
run up to ``--flat-max`` conversations only: Kura's rule makes it quadratic
(see ``bench_tree_kmeans.py`` for its cost at 100k).
"""

import argparse
import json
import logging
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import machine, start_fake_server, today  # noqa: E402

CACHE = HERE / ".cache"
STAGE_ORDER = [
    "summarise",
    "embed",
    "lookup",
    "cluster",
    "name",
    "hierarchy",
    "map",
    "tree",
    "tables",
    "report",
]


def _status(field):
    """A ``/proc/self/status`` field in MB (Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak():
    """Reset VmHWM to the current RSS, so the next reading is this stage's peak."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class StageTracker(logging.Handler):
    """Wall time, CPU time and peak RSS of consecutive stages.

    ``start(name)`` closes the running stage and opens the next; as a
    logging handler it does the same for the ``stage`` records that
    ``ConversationClusterer.fit`` emits at DEBUG level.
    """

    def __init__(self, rename=None):
        super().__init__(level=logging.DEBUG)
        self.stages = {}
        self.rename = rename or {}
        self._current = None

    def emit(self, record):
        stage = getattr(record, "stage", None)
        if stage is not None:
            self.start(None if stage == "done" else self.rename.get(stage, stage))

    def start(self, name):
        now, cpu = time.perf_counter(), _cpu()
        if self._current is not None:
            stage, t0, c0, rss0 = self._current
            self.stages[stage] = {
                "wall": now - t0,
                "cpu": cpu - c0,
                "peak_mb": _status("VmHWM"),
                "start_mb": rss0,
            }
        self._current = None
        if name is not None:
            _reset_peak()
            self._current = (name, time.perf_counter(), _cpu(), _status("VmRSS"))

    def stop(self):
        self.start(None)

    def attach(self):
        log = logging.getLogger("kura_sklearn.pipeline._clusterer")
        log.setLevel(logging.DEBUG)
        log.addHandler(self)
        log.propagate = False
        return self


def make_clusterer(kind, n, random_state=0):
    from kura_sklearn import KMeansClusterer, MiniBatchKMeansClusterer
    from kura_sklearn.cluster import KMeansTreeClusterer

    if kind == "kmeans":
        return KMeansClusterer(clusters_per_group=10, random_state=random_state)
    if kind == "minibatch":
        return MiniBatchKMeansClusterer(
            clusters_per_group=10, random_state=random_state
        )
    return KMeansTreeClusterer(clusters_per_group=10, random_state=random_state)


def _warm_umap():
    """Compile umap-learn's numba code (both neighbour paths) before timing."""
    import numpy as np

    from kura_sklearn.projection import MapProjector
    from kura_sklearn.projection._projector import _import_umap

    if _import_umap() is None:
        return False
    rng = np.random.RandomState(0)
    for n in (1000, 5000):
        X = rng.normal(size=(n, 384)).astype(np.float32)
        MapProjector(random_state=0).fit(X)
    return True


KEY_ENV = "KURA_SCALING_FAKE_KEY"


def _server_calls(base_url):
    """Chat calls the server has answered so far."""
    from urllib.request import urlopen

    root = base_url.rsplit("/v1", 1)[0]
    with urlopen(f"{root}/_control/stats", timeout=10) as response:
        return json.loads(response.read())["chat_completions"]


class CallCounter(logging.Handler):
    """Server-side chat calls per stage, read at each stage change."""

    def __init__(self, tracker, base_url):
        super().__init__(level=logging.DEBUG)
        self.tracker, self.base_url = tracker, base_url
        self.calls, self._last, self._stage = {}, _server_calls(base_url), None

    def emit(self, record):
        stage = getattr(record, "stage", None)
        if stage is not None:
            self.switch(
                None if stage == "done" else self.tracker.rename.get(stage, stage)
            )

    def switch(self, name):
        now = _server_calls(self.base_url)
        if self._stage is not None:
            self.calls[self._stage] = self.calls.get(self._stage, 0) + now - self._last
        self._last, self._stage = now, name


def worker(n, clusterer_kind, embed_max, report_points, llm=None):
    """One size, one clusterer, in this (fresh) process; prints JSON.

    ``llm``: None for the offline pipeline, else a dict with ``base_url`` and
    ``max_concurrency`` of the fake server.
    """
    import numpy as np
    from make_synthetic import embed_texts, make_conversations

    from kura_sklearn import (
        ConversationClusterer,
        ConversationSummarizer,
        SentenceTransformerEmbedder,
    )
    from kura_sklearn.embedding import PrecomputedEmbedder, save_embedding_store
    from kura_sklearn.projection import MapProjector
    from kura_sklearn.report import clusters_table, conversations_table, report_html

    load_start = os.getloadavg()[0]
    conversations = make_conversations(n)
    # the clusterer's own "embed" stage is the store look-up
    tracker = StageTracker(rename={"embed": "lookup"}).attach()
    namer, counter = None, None
    if llm is None:
        summarizer = ConversationSummarizer()
    else:
        from kura_sklearn.llm import LLMSettings
        from kura_sklearn.naming import LLMNamer

        os.environ[KEY_ENV] = "fake-key"
        settings = LLMSettings(
            base_url=llm["base_url"],
            api_key_env=KEY_ENV,
            max_concurrency=llm["max_concurrency"],
        )
        summarizer = ConversationSummarizer("test-model", llm=settings)
        namer = LLMNamer("test-model", llm=settings)
        # first use (imports, client, connections) before the clock
        summarizer.transform(make_conversations(2 * llm["max_concurrency"]))
        counter = CallCounter(tracker, llm["base_url"])
        logging.getLogger("kura_sklearn.pipeline._clusterer").addHandler(counter)

    tracker.start("summarise")
    if counter:
        counter.switch("summarise")
    summaries = summarizer.set_output(transform="pandas").fit_transform(conversations)
    tracker.stop()
    if counter:
        counter.switch(None)
    del conversations
    texts = summaries["summary"].tolist()

    embed_measured = n <= embed_max
    if embed_measured:
        embedder = SentenceTransformerEmbedder(batch_size=64)
        embedder.transform(texts[:64])  # load the model before the clock
        tracker.start("embed")
        X = embedder.transform(texts)
        tracker.stop()
    else:
        X, seconds = embed_texts(texts, CACHE)
    X = np.ascontiguousarray(X, dtype=np.float32)
    store = save_embedding_store(tempfile.mkdtemp(prefix="kura-scaling-"), texts, X)
    del X
    warm = _warm_umap()

    model = ConversationClusterer(
        # LLMNamer embeds the names it writes: those are embedded for real
        embedder=PrecomputedEmbedder(
            store, fallback=None if llm is None else SentenceTransformerEmbedder()
        ),
        clusterer=make_clusterer(clusterer_kind, n),
        namer=namer,
        projector=MapProjector(random_state=0),
        max_clusters=10,
        random_state=0,
    )
    model.fit(summaries)
    tracker.start("tables")
    conversations_table(model)
    clusters_table(model)
    tracker.stop()
    tracker.start("report")
    page = report_html(model, max_points=report_points)
    tracker.stop()
    levels = max(c.level for c in model.clusters_)
    print(
        json.dumps(
            {
                "n": n,
                "clusterer": clusterer_kind,
                "llm": llm is not None,
                "llm_calls": counter.calls if counter else {},
                "embed_measured": embed_measured,
                "umap_warmed": warm,
                "map_method": model.projector_.method_,
                "n_clusters": int(model.n_clusters_),
                "levels": int(levels),
                "report_mb": len(page.encode()) / 1e6,
                "stages": tracker.stages,
                # VmHWM (and ru_maxrss) is reset at each stage start
                "max_rss_mb": max(
                    [st["peak_mb"] for st in tracker.stages.values()]
                    + [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024]
                ),
                "load": [load_start, os.getloadavg()[0]],
            }
        )
    )


def slope(ns, values):
    """Least-squares slope of log(value) against log(n)."""
    pts = [(math.log(n), math.log(v)) for n, v in zip(ns, values) if v and v > 0]
    if len(pts) < 2:
        return float("nan")
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sxx


def run_worker(n, kind, args, base_url=None):
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        str(n),
        kind,
        "--embed-max",
        str(args.embed_max),
        "--report-points",
        str(args.report_points),
    ]
    if base_url:
        cmd += ["--base-url", base_url, "--max-concurrency", str(args.max_concurrency)]
    started = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-3000:])
        raise SystemExit(f"worker n={n} {kind} failed")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - started
    return result


def fmt_time(seconds):
    return f"{seconds:.2f}" if seconds < 10 else f"{seconds:.1f}"


def report(results, args):
    llm = any(r.get("llm") for r in results)
    print(f"# bench_scaling: {machine()}; {today()}")
    print(
        "pipeline: "
        + (
            "fake LLM (loopback server): LLM summaries, LLMNamer names and hierarchy"
            if llm
            else "offline: extractive summaries, KeywordNamer"
        )
    )
    print(f"command: python benchmarks/bench_scaling.py {' '.join(sys.argv[1:])}")
    by_kind = {}
    for r in results:
        by_kind.setdefault(r["clusterer"], []).append(r)
    for kind, rows in by_kind.items():
        rows.sort(key=lambda r: r["n"])
        ns = [r["n"] for r in rows]
        # extrapolate embedding above --embed-max at the largest measured rate
        measured = [r for r in rows if r["embed_measured"]]
        rate = None
        if measured:
            big = max(measured, key=lambda r: r["n"])
            rate = big["n"] / big["stages"]["embed"]["wall"]
        for r in rows:
            if not r["embed_measured"] and rate:
                r["stages"]["embed"] = {
                    "wall": r["n"] / rate,
                    "cpu": float("nan"),
                    "peak_mb": float("nan"),
                    "start_mb": float("nan"),
                    "extrapolated": True,
                }
        stages = [s for s in STAGE_ORDER if any(s in r["stages"] for r in rows)]
        print(f"\n## clusterer: {kind}\n")
        sizes = [f"{n:,}" for n in ns]
        print(
            "| stage | "
            + " | ".join(f"wall s, {n}" for n in sizes)
            + " | exponent, all | exponent, last pair | "
            + " | ".join(f"CPU s, {n}" for n in sizes)
            + " | CPU exponent, last pair |"
        )
        print("|---" * (2 * len(ns) + 4) + "|")
        for stage in stages:
            walls = [r["stages"].get(stage, {}).get("wall") for r in rows]
            cpus = [r["stages"].get(stage, {}).get("cpu") for r in rows]
            wall_cells = [
                "-"
                if w is None
                else fmt_time(w)
                + ("*" if r["stages"][stage].get("extrapolated") else "")
                for w, r in zip(walls, rows)
            ]
            cpu_cells = ["-" if c is None or c != c else fmt_time(c) for c in cpus]
            print(
                f"| {stage} | {' | '.join(wall_cells)} | {slope(ns, walls):.2f} | "
                f"{slope(ns[-2:], walls[-2:]):.2f} | {' | '.join(cpu_cells)} | "
                f"{slope(ns[-2:], cpus[-2:]):.2f} |"
            )
        totals = [sum(s["wall"] for s in r["stages"].values()) for r in rows]
        # CPU totals leave embedding out: above --embed-max it is extrapolated
        cpu_totals = [
            sum(s["cpu"] for name, s in r["stages"].items() if name != "embed")
            for r in rows
        ]
        print(
            f"| **total** (CPU: without embed) | "
            f"{' | '.join(fmt_time(t) for t in totals)} | "
            f"{slope(ns, totals):.2f} | {slope(ns[-2:], totals[-2:]):.2f} | "
            f"{' | '.join(fmt_time(t) for t in cpu_totals)} | "
            f"{slope(ns[-2:], cpu_totals[-2:]):.2f} |"
        )
        print("\npeak RSS per stage, MB (stage start -> peak):\n")
        print(f"| stage | {' | '.join(f'{n:,}' for n in ns)} |")
        print("|---" * (len(ns) + 1) + "|")
        for stage in stages:
            cells = []
            for r in rows:
                s = r["stages"].get(stage)
                if s is None or s["peak_mb"] != s["peak_mb"]:
                    cells.append("-")
                else:
                    cells.append(f"{s['start_mb']:.0f} -> {s['peak_mb']:.0f}")
            print(f"| {stage} | {' | '.join(cells)} |")
        peaks = " | ".join(f"{r['max_rss_mb']:.0f}" for r in rows)
        print(f"| process peak (largest stage peak) | {peaks} |")
        for r in rows:
            print(
                f"n={r['n']:,}: {r['n_clusters']:,} base clusters, {r['levels']} meta "
                f"levels, map {r['map_method']} (umap warmed: {r['umap_warmed']}), "
                f"report {r['report_mb']:.1f} MB, load avg {r['load'][0]:.1f} -> "
                f"{r['load'][1]:.1f}, worker process {r['process_seconds']:.0f} s"
            )
        if rate:
            print(f"embedding rate used for extrapolation (*): {rate:.0f} texts/s")
        if llm:
            print("\nLLM calls per stage (counted by the server):\n")
            print(f"| stage | {' | '.join(f'{n:,}' for n in ns)} | exponent |")
            print("|---" * (len(ns) + 2) + "|")
            for stage in stages:
                calls = [r["llm_calls"].get(stage, 0) for r in rows]
                if any(calls):
                    print(
                        f"| {stage} | {' | '.join(f'{c:,}' for c in calls)} | "
                        f"{slope(ns, calls):.2f} |"
                    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument(
        "--clusterers",
        nargs="+",
        default=["tree", "kmeans"],
        choices=["tree", "kmeans", "minibatch"],
    )
    parser.add_argument("--flat-max", type=int, default=10000)
    parser.add_argument("--embed-max", type=int, default=10000)
    parser.add_argument("--report-points", type=int, default=20000)
    parser.add_argument("--llm", action="store_true", help="fake-LLM pipeline")
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--max-concurrency", type=int, default=20)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--worker", nargs=2, metavar=("N", "CLUSTERER"))
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument("--render", help="print the tables of a --json file")
    args = parser.parse_args()
    if args.render:
        report(json.loads(Path(args.render).read_text()), args)
        return
    if args.worker:
        llm = None
        if args.base_url:
            llm = {"base_url": args.base_url, "max_concurrency": args.max_concurrency}
        worker(
            int(args.worker[0]), args.worker[1], args.embed_max, args.report_points, llm
        )
        return
    server, base_url = start_fake_server(args.latency) if args.llm else (None, None)
    results = []
    try:
        for kind in args.clusterers:
            for n in args.sizes:
                if kind != "tree" and n > args.flat_max:
                    continue
                print(f"running n={n} {kind} ...", file=sys.stderr, flush=True)
                results.append(run_worker(n, kind, args, base_url))
                if args.json:
                    Path(args.json).write_text(json.dumps(results, indent=1))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
    report(results, args)


if __name__ == "__main__":
    main()
