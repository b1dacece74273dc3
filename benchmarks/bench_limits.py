"""How close each stage comes to its own limit: LLM calls, K-means, naming/map share.

Three parts (``--parts llm cluster share``, all by default):

llm
    The LLM-bound limit of summarising N conversations is N x latency /
    concurrency. ``ConversationSummarizer(model, llm=LLMSettings(base_url=server,
    max_concurrency=C)).transform`` is timed against that figure, next to two
    baselines measured in the same run on the same requests (same prompts,
    same JSON schema): a bare asyncio client writing HTTP/1.1 on C keep-alive
    sockets (the server's own limit: what the fake server and the loopback
    can do with nothing else in the way), and the ``openai`` SDK's
    ``AsyncOpenAI`` with a semaphore (what the SDK costs). The server is
    ``tests/_openai_server.py`` in its own process. Goal: ours / ideal <= 1.2.
cluster
    ``KMeansClusterer`` and ``MiniBatchKMeansClusterer`` against raw
    ``sklearn.cluster.KMeans`` / ``MiniBatchKMeans`` with identical parameters
    on the same float32 array (random normal, 384 dimensions), at 10k and
    100k points. Both sides must give identical labels. Goal: <= 1.1.
share
    The share of naming and of the map in the wall time of an offline
    ``make_kura_pipeline().fit`` (extractive summaries, the bundled embedding
    model, Kura's K-means, keyword names, UMAP) at 2k and 10k conversations,
    split by the stage log records of ``verbose=1``. UMAP's one-off numba
    compilation is paid by a warm-up fit first and reported on its own.

Run: python benchmarks/bench_limits.py [--n 2000] [--latency 0.1]
     [--concurrency 20] [--repeats 2] [--cluster-sizes 10000 100000]
     [--share-sizes 2000 10000] [--parts llm cluster share]
"""

import argparse
import asyncio
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _common import (  # noqa: E402
    banking77_texts,
    machine,
    start_fake_server,
    synthetic_texts,
    today,
)

ROOT = Path(__file__).resolve().parent.parent
KEY_ENV = "KURA_SKLEARN_BENCH_KEY"
os.environ.setdefault(KEY_ENV, "sk-benchmark-not-a-secret")


def _conversations(n, offset=0):
    from kura_sklearn import Conversation

    texts = banking77_texts(n + offset) or []
    if len(texts) < n + offset:
        texts = synthetic_texts(n + offset)
    return [
        Conversation(chat_id=f"c{i}", messages=[{"role": "user", "content": t}])
        for i, t in enumerate(texts[offset:], start=offset)
    ]


def _load():
    return os.getloadavg()[0]


# --------------------------------------------------------------------------
# llm: summarising against N x L / C
# --------------------------------------------------------------------------


def _request_bodies(conversations, model):
    """The exact chat requests the summarizer sends, as JSON bytes."""
    from kura_sklearn.llm import SUMMARY_PROMPT, fill
    from kura_sklearn.llm._openai import strict_json_schema
    from kura_sklearn.summarization import ConversationSummary

    schema = strict_json_schema(ConversationSummary)
    response_format = {
        "type": "json_schema",
        "json_schema": {
            "name": "ConversationSummary",
            "schema": schema,
            "strict": True,
        },
    }
    return [
        {
            "model": model,
            "messages": [
                {
                    "role": "user",
                    "content": fill(SUMMARY_PROMPT, conversation=c.render(12000)),
                }
            ],
            "response_format": response_format,
            "temperature": 0.0,
        }
        for c in conversations
    ]


async def _raw_sockets(port, bodies, concurrency):
    """C workers, each on one keep-alive HTTP/1.1 connection; returns errors."""
    queue = list(range(len(bodies)))
    queue.reverse()
    errors = 0

    async def worker():
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while queue:
                body = json.dumps(bodies[queue.pop()]).encode()
                writer.write(
                    b"POST /v1/chat/completions HTTP/1.1\r\n"
                    b"Host: 127.0.0.1\r\nAuthorization: Bearer x\r\n"
                    b"Content-Type: application/json\r\n"
                    b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                )
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                answer = json.loads(await reader.readexactly(length))
                json.loads(answer["choices"][0]["message"]["content"])
                errors += status != 200
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return errors


async def _raw_sdk(base_url, bodies, concurrency):
    """openai.AsyncOpenAI, a semaphore, gather: the SDK with nothing of ours."""
    from openai import AsyncOpenAI

    semaphore = asyncio.Semaphore(concurrency)
    async with AsyncOpenAI(base_url=base_url, api_key="x", max_retries=0) as client:

        async def one(body):
            async with semaphore:
                response = await client.chat.completions.create(**body)
            return json.loads(response.choices[0].message.content)

        await asyncio.gather(*(one(body) for body in bodies))
    return 0


def llm_worker(args):
    """One timed run of one client, in a fresh process; prints JSON.

    Each run has a process of its own: after an ``AsyncOpenAI`` client has
    worked on another event loop in the same process, a few answers to the
    summarizer's cached client were seen to sit unread in their sockets until
    the 60 s time-out (openai 3.57, httpx2 2.16, anyio), which would measure
    that interaction rather than either client.
    """
    from kura_sklearn import ConversationSummarizer
    from kura_sklearn.llm import LLMSettings

    n, concurrency = args.n, args.concurrency
    port = int(args.base_url.rsplit(":", 1)[1].split("/")[0])
    conversations = _conversations(n)
    warm = _conversations(concurrency * 2, offset=n)
    model = "test-model"

    if args.llm_worker == "ours":

        def run(items):
            llm = LLMSettings(
                base_url=args.base_url,
                api_key_env=KEY_ENV,
                max_concurrency=concurrency,
            )
            out = ConversationSummarizer(model, llm=llm).transform(items)
            assert len(out) == len(items)

    else:
        client = _raw_sockets if args.llm_worker == "sockets" else _raw_sdk
        target = port if args.llm_worker == "sockets" else args.base_url

        def run(items):
            bodies = _request_bodies(items, model)
            assert asyncio.run(client(target, bodies, concurrency)) == 0

    run(warm)  # first use: imports, client, connections; not timed
    cpu, start = time.process_time(), time.perf_counter()
    run(conversations)
    wall = time.perf_counter() - start
    print(json.dumps({"wall": wall, "cpu": time.process_time() - cpu}))


def part_llm(args):
    n, latency, concurrency = args.n, args.latency, args.concurrency
    ideal = n * latency / concurrency
    server, base_url = start_fake_server(latency)
    times = {"sockets": [], "sdk": [], "ours": []}
    cpu = {"sockets": [], "sdk": [], "ours": []}
    loads = []
    try:
        for r in range(args.repeats):
            order = ["sockets", "sdk", "ours"]
            if r % 2:
                order.reverse()
            for name in order:
                loads.append(_load())
                command = [
                    sys.executable,
                    __file__,
                    "--llm-worker",
                    name,
                    "--base-url",
                    base_url,
                    "--n",
                    str(n),
                    "--concurrency",
                    str(concurrency),
                ]
                done = subprocess.run(command, capture_output=True, text=True)
                if done.returncode:
                    raise RuntimeError(f"{name} failed:\n{done.stderr[-3000:]}")
                result = json.loads(done.stdout.strip().splitlines()[-1])
                times[name].append(result["wall"])
                cpu[name].append(result["cpu"])
    finally:
        server.terminate()
        server.wait(10)

    print(
        f"\n## llm: {n} conversations, latency {latency * 1000:.0f} ms, "
        f"{concurrency} in flight; ideal N x L / C = {ideal:.2f} s; "
        f"{args.repeats} run(s) each, alternating, each in a fresh process; "
        f"{machine()}; {today()}"
    )
    print(f"load average before each run: {', '.join(f'{x:.1f}' for x in loads)}")
    print("| client | median s | runs s | / ideal | client CPU ms per call | goal |")
    print("| --- | --- | --- | --- | --- | --- |")
    labels = {
        "sockets": "bare asyncio sockets (server limit)",
        "sdk": "openai.AsyncOpenAI + semaphore",
        "ours": "ConversationSummarizer.transform",
    }
    for name in ("sockets", "sdk", "ours"):
        median = statistics.median(times[name])
        runs_text = ", ".join(f"{t:.2f}" for t in times[name])
        per_call = statistics.median(cpu[name]) / n * 1000
        goal = "<= 1.2" if name == "ours" else ""
        print(
            f"| {labels[name]} | {median:.2f} | {runs_text} | "
            f"{median / ideal:.2f} | {per_call:.2f} | {goal} |"
        )
    ours, sdk = statistics.median(times["ours"]), statistics.median(times["sdk"])
    print(
        f"ours / bare SDK: {ours / sdk:.2f}; calls per second needed: "
        f"{concurrency / latency:.0f}"
    )


# --------------------------------------------------------------------------
# cluster: our K-means wrappers against raw scikit-learn
# --------------------------------------------------------------------------


def _wrapper_work(estimator, X, repeats=5):
    """Median seconds of the work our fit adds around scikit-learn's: its input
    validation (scikit-learn validates again inside) and the size rule."""
    import numpy as np
    from sklearn.utils.validation import validate_data

    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        validate_data(
            estimator, X, dtype=[np.float64, np.float32], accept_sparse="csr", order="C"
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def part_cluster(args):
    import numpy as np
    from sklearn.base import clone
    from sklearn.cluster import KMeans, MiniBatchKMeans

    from kura_sklearn import KMeansClusterer, MiniBatchKMeansClusterer

    k = args.k
    settings = {
        "kmeans": {"n_init": 1, "max_iter": args.max_iter, "random_state": 0},
        "minibatch": {"n_init": 1, "random_state": 0},
    }
    pairs = {
        "KMeans": (KMeansClusterer, KMeans, settings["kmeans"]),
        "MiniBatchKMeans": (
            MiniBatchKMeansClusterer,
            MiniBatchKMeans,
            settings["minibatch"],
        ),
    }
    print(
        f"\n## cluster: k = {k}, KMeans max_iter = {args.max_iter}, random normal "
        f"float32, 384 dimensions; {args.cluster_repeats} run(s) each, alternating; "
        f"{machine()}; {today()}"
    )
    print(
        "| estimator | n | raw s (median) | ours s (median) | ours / raw, wall | "
        "ours / raw, CPU | wrapper's own work | labels equal | goal |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    loads, spreads = [], []
    for n in args.cluster_sizes:
        X = np.random.RandomState(0).standard_normal((n, 384)).astype(np.float32)
        for name, (ours_cls, raw_cls, params) in pairs.items():
            times = {"raw": [], "ours": []}
            cpu = {"raw": [], "ours": []}
            labels = {}
            for r in range(args.cluster_repeats):
                order = ("raw", "ours") if r % 2 == 0 else ("ours", "raw")
                for side in order:
                    loads.append(_load())
                    if side == "raw":
                        model = raw_cls(n_clusters=k, **params)
                    else:
                        model = ours_cls(n_clusters=k, **params)
                    c0, start = time.process_time(), time.perf_counter()
                    model.fit(X)
                    times[side].append(time.perf_counter() - start)
                    cpu[side].append(time.process_time() - c0)
                    labels[side] = model.labels_
                    if side == "ours":
                        inner = model.estimator_.get_params()
                        raw_params = raw_cls(n_clusters=k, **params).get_params()
                        assert inner == raw_params, (inner, raw_params)
            raw, ours = (statistics.median(times[s]) for s in ("raw", "ours"))
            raw_cpu, ours_cpu = (statistics.median(cpu[s]) for s in ("raw", "ours"))
            same = bool(np.array_equal(labels["raw"], labels["ours"]))
            own = _wrapper_work(clone(ours_cls(n_clusters=k, **params)), X)
            spreads.append(
                f"{name} {n:,}: "
                + ", ".join(
                    f"{a:.2f}/{b:.2f}" for a, b in zip(times["raw"], times["ours"])
                )
            )
            print(
                f"| {name} | {n:,} | {raw:.2f} | {ours:.2f} | {ours / raw:.3f} | "
                f"{ours_cpu / raw_cpu:.3f} | {own * 1000:.1f} ms "
                f"({own / raw:.2%} of raw) | {same} | <= 1.1 |"
            )
    print("runs, raw/ours seconds, in order: " + "; ".join(spreads))
    print(f"load average before each run: {', '.join(f'{x:.1f}' for x in loads)}")


# --------------------------------------------------------------------------
# share: naming and the map in an offline pipeline fit
# --------------------------------------------------------------------------

#: The first log record of each later stage closes the one before it.
_CLOSES = (
    ("Summarised ", "summarise"),
    ("Clustering ", "embed"),
    ("Naming ", "cluster"),
    ("Level 1:", "name"),
    ("Projecting ", "meta"),
)
_STAGES = ("summarise", "embed", "cluster", "name", "meta", "project")


class _StageTimer(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.INFO)
        self.reset()

    def reset(self):
        self.pending = list(_CLOSES)
        self.times = {}
        self.last = time.perf_counter()

    def close_stage(self, stage):
        now = time.perf_counter()
        self.times[stage] = now - self.last
        self.last = now

    def emit(self, record):
        if record.threadName != "MainThread":
            return
        message = record.getMessage()
        for i, (prefix, stage) in enumerate(self.pending):
            if message.startswith(prefix):
                for _, skipped in self.pending[:i]:
                    self.times[skipped] = 0.0
                self.close_stage(stage)
                del self.pending[: i + 1]
                return


def _warm_up_umap():
    import numpy as np
    from umap import UMAP

    rng = np.random.RandomState(0)
    # small inputs take the exact-neighbour path, >= 4096 points NN-descent
    for n in (60, 4200):
        X = rng.rand(n, 16).astype(np.float32)
        UMAP(n_neighbors=15, metric="cosine", random_state=0, n_epochs=20).fit(X)


def part_share(args):
    from kura_sklearn import SentenceTransformerEmbedder, make_kura_pipeline

    start = time.perf_counter()
    _warm_up_umap()
    warm_umap = time.perf_counter() - start
    start = time.perf_counter()
    SentenceTransformerEmbedder().transform(["warm up the model"])
    warm_model = time.perf_counter() - start

    timer = _StageTimer()
    package_logger = logging.getLogger("kura_sklearn")
    package_logger.addHandler(timer)
    package_logger.setLevel(logging.INFO)
    rows = []
    try:
        for n in args.share_sizes:
            conversations = _conversations(n)
            load = _load()
            pipe = make_kura_pipeline(verbose=1)
            timer.reset()
            start = time.perf_counter()
            pipe.fit(conversations)
            total = time.perf_counter() - start
            for _, stage in timer.pending:
                timer.times.setdefault(stage, 0.0)
            timer.close_stage("project")
            rows.append((n, len(conversations), total, dict(timer.times), load, pipe))
    finally:
        package_logger.removeHandler(timer)

    print(
        f"\n## share: offline make_kura_pipeline().fit; {machine()}; {today()}; "
        f"one-off UMAP compilation {warm_umap:.1f} s and model load "
        f"{warm_model:.1f} s paid before, not counted"
    )
    header = " | ".join(f"{s} s" for s in _STAGES)
    print(f"| n | base clusters | {header} | total s | naming share | map share |")
    print("| --- " * (len(_STAGES) + 5) + "|")
    for n, _, total, times, load, pipe in rows:
        cells = " | ".join(f"{times.get(s, 0.0):.2f}" for s in _STAGES)
        naming = times.get("name", 0.0) + times.get("meta", 0.0)
        print(
            f"| {n:,} | {pipe[-1].n_clusters_} | {cells} | {total:.2f} | "
            f"{naming / total:.1%} | {times.get('project', 0.0) / total:.1%} | "
            f"(load {load:.1f}; map method {pipe[-1].projector_.method_})"
        )
    print(
        "naming share = base-cluster names + meta levels (keyword names; the meta "
        "stage includes embedding the names)"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=["llm", "cluster", "share"])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--cluster-sizes", type=int, nargs="+", default=[10000])
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--max-iter", type=int, default=20)
    parser.add_argument("--cluster-repeats", type=int, default=3)
    parser.add_argument("--share-sizes", type=int, nargs="+", default=[2000])
    parser.add_argument("--llm-worker", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    if args.llm_worker:
        return llm_worker(args)
    for part in args.parts:
        {"llm": part_llm, "cluster": part_cluster, "share": part_share}[part](args)


if __name__ == "__main__":
    main()
