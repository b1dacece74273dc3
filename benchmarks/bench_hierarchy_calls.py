"""LLM calls made by the meta-cluster hierarchy, per level, next to Kura's.

For 100, 500 and 1,000 base clusters, fits ConversationClusterer with the
LLM namer against the loopback OpenAI-compatible test server (no latency)
and reports the calls at each meta level. Kura makes, per round over n
clusters: ceil(n / 12) candidate calls + n label calls (one per child) +
n_next rename calls (one per parent). Kura's column applies that formula
to the same per-level cluster counts our run produced, so both sides are
compared on the same tree shape.

Run: python benchmarks/bench_hierarchy_calls.py [--sizes 100 500 1000]
"""

import argparse
import math
import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from _common import machine, today  # noqa: E402
from _openai_server import TEST_KEY_ENV, FakeOpenAIServer  # noqa: E402


def kura_calls(n, n_next):
    return math.ceil(n / 12) + n + n_next


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 1000])
    parser.add_argument("--per-cluster", type=int, default=5)
    parser.add_argument("--max-clusters", type=int, default=10)
    args = parser.parse_args()

    import numpy as np
    from sklearn.decomposition import PCA

    from kura_sklearn import ConversationClusterer, KMeansClusterer, OpenAIEmbedder
    from kura_sklearn.naming import LLMNamer

    os.environ[TEST_KEY_ENV] = "sk-benchmark"
    server = FakeOpenAIServer().start()
    print(f"{machine()}; {today()}; max_clusters={args.max_clusters}")
    print(
        "| base clusters | level | clusters in | parents out | our calls | "
        "Kura's calls | ratio |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    rng = np.random.RandomState(0)
    # letters only: the fake model writes names from alphabetic content words
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocabulary = ["".join(rng.choice(letters, 7)) for _ in range(3000)]
    try:
        for n_base in args.sizes:
            server.reset()
            texts = [
                " ".join(rng.choice(vocabulary, 6))
                for _ in range(n_base * args.per_cluster)
            ]
            common = {"base_url": server.base_url, "api_key_env": TEST_KEY_ENV}
            model = ConversationClusterer(
                OpenAIEmbedder(model="e", dimensions=64, **common),
                KMeansClusterer(n_clusters=n_base, n_init=1),
                namer=LLMNamer("m", max_concurrency=20, **common),
                projector=PCA(2),
                max_clusters=args.max_clusters,
                random_state=0,
            )
            start = time.perf_counter()
            model.fit(texts)
            seconds = time.perf_counter() - start
            per_level = Counter(c.level for c in model.clusters_)
            ours_total = kura_total = 0
            for level in range(1, max(per_level) + 1):
                n_in, n_out = per_level[level - 1], per_level[level]
                ours = model.n_llm_calls_[f"level_{level}"]
                kura = kura_calls(n_in, n_out)
                ours_total += ours
                kura_total += kura
                print(
                    f"| {n_base} | {level} | {n_in} | {n_out} | {ours} | {kura} | "
                    f"{ours / kura:.2f} |"
                )
            n_roots = sum(c.parent_id is None for c in model.clusters_)
            naming = model.n_llm_calls_["naming"]
            print(
                f"| {n_base} | all | | {n_roots} roots | {ours_total} | {kura_total} "
                f"| {ours_total / kura_total:.2f} | (naming: {naming} calls; "
                f"fit {seconds:.1f} s)"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
