"""GridSearchCV over the whole LLM pipeline: calls and time, naive vs cached.

6 candidates (clusters_per_group 5/10/20 x max_clusters 5/10) x 3 folds on
500 conversations, against the loopback OpenAI-compatible server (20 ms
latency, 20 requests in flight), scored with silhouette_scorer. Three runs:

- naive: no item cache, every fit and every score re-summarises and re-embeds;
- cold: an empty per-item cache (``cache_dir``);
- warm: the same search again on the filled cache.

Goals: calls made = distinct items (not candidates x folds x items), and
warm wall time <= 5% of cold.

Run: python benchmarks/bench_grid_search.py [--n 500]
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from _common import banking77_texts, machine, synthetic_texts, today  # noqa: E402
from _openai_server import TEST_KEY_ENV, FakeOpenAIServer  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.02)
    args = parser.parse_args()

    from sklearn.decomposition import PCA
    from sklearn.model_selection import GridSearchCV, KFold

    from kura_sklearn import (
        Conversation,
        KMeansClusterer,
        OpenAIEmbedder,
        make_kura_pipeline,
    )
    from kura_sklearn.llm import LLMSettings
    from kura_sklearn.metrics import silhouette_scorer

    texts = banking77_texts(args.n, split="test") or synthetic_texts(args.n)
    source = "BANKING77 test queries" if len(texts) == args.n else "synthetic"
    conversations = [
        Conversation(chat_id=f"q{i}", messages=[{"role": "user", "content": t}])
        for i, t in enumerate(texts)
    ]
    os.environ[TEST_KEY_ENV] = "sk-benchmark"
    server = FakeOpenAIServer().start()
    server.configure(latency=args.latency)
    grid = {
        "cluster__clusterer": [
            KMeansClusterer(clusters_per_group=k) for k in (5, 10, 20)
        ],
        "cluster__max_clusters": [5, 10],
    }

    def search(cache_dir):
        common = {"base_url": server.base_url, "api_key_env": TEST_KEY_ENV}
        pipe = make_kura_pipeline(
            "test-model",
            max_concurrency=20,
            cache_dir=cache_dir,
            embedder=OpenAIEmbedder(
                model="e",
                dimensions=64,
                cache_dir=cache_dir,
                llm=LLMSettings(max_concurrency=4, **common),
            ),
            **common,
        )
        pipe.set_params(cluster__projector=PCA(2))
        gs = GridSearchCV(
            pipe,
            grid,
            scoring=silhouette_scorer,
            cv=KFold(3, shuffle=True, random_state=0),
            n_jobs=1,
        )
        server.reset()
        server.configure(latency=args.latency)
        start = time.perf_counter()
        gs.fit(conversations)
        seconds = time.perf_counter() - start
        stats = server.stats()
        return gs, seconds, stats

    try:
        _, naive_s, naive = search(None)
        with tempfile.TemporaryDirectory() as cache_dir:
            gs, cold_s, cold = search(cache_dir)
            _, warm_s, warm = search(cache_dir)
    finally:
        server.stop()

    n = len(conversations)
    print(
        f"{n} {source}; 6 candidates x 3 folds + refit; latency {args.latency} s; "
        f"{machine()}; {today()}"
    )
    print("| run | chat calls | texts embedded | wall time |")
    print("| --- | --- | --- | --- |")
    for name, stats, seconds in (
        ("naive (no item cache)", naive, naive_s),
        ("cold cache", cold, cold_s),
        ("warm cache", warm, warm_s),
    ):
        print(
            f"| {name} | {stats['chat_completions']} | {stats['embedded_inputs']} | "
            f"{seconds:.1f} s |"
        )
    print(
        f"distinct conversations: {n}; cold chat calls / naive: "
        f"{cold['chat_completions'] / naive['chat_completions']:.3f}; "
        f"cold texts embedded / naive: "
        f"{cold['embedded_inputs'] / max(naive['embedded_inputs'], 1):.3f}"
    )
    print(f"warm / cold wall time: {warm_s / cold_s:.3f} (goal <= 0.05)")
    print(f"best: {gs.best_params_} (silhouette {gs.best_score_:.3f})")


if __name__ == "__main__":
    main()
