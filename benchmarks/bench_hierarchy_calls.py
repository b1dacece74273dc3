"""LLM calls made by the meta-cluster hierarchy, per level and per stage.

For 100 and 1,000 base clusters (``--sizes``), fits ConversationClusterer
with the LLM namer against the loopback OpenAI-compatible test server (no
latency; its fake model proposes and deduplicates names drawn from the
clusters it is shown and assigns by shared words, ``match_words`` and
``choice_tag``) and reports, at each meta level, the clusters in and out and
the calls of each stage (propose, deduplicate, assign, rename), read from the
requests the server received. Beside them:

* before: the same benchmark on main before issue 13 (commit c423f0d,
  2026-11-30; three calls per neighbourhood of 10, halving at least per
  level), as measured there;
* Kura: per round over n clusters, ceil(n / 12) candidate calls + n label
  calls (one per child) + n_next rename calls (one per parent), applied to
  this run's per-level counts;
* Clio: its published shape, 1,000 -> 100 -> 10, neighbourhoods of about 40,
  and its calls as its procedure describes them (one proposal call per
  neighbourhood, deduplication, one assignment call per child, one renaming
  call per parent; the paper publishes no call counts, and its
  deduplication is counted as one call).

Run: python benchmarks/bench_hierarchy_calls.py [--sizes 100 1000]
"""

import argparse
import math
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from _common import machine, today  # noqa: E402
from _openai_server import TEST_KEY_ENV, FakeOpenAIServer  # noqa: E402

#: bench_hierarchy_calls.py on main before issue 13 (c423f0d, 2026-11-30):
#: calls per meta level for 100 and 1,000 base clusters, 5 texts each.
BEFORE = {100: [20], 1000: [200, 20]}

STAGES = {
    "ProposedParents": "P",
    "DeduplicatedParents": "D",
    "ParentAssignment": "A",
    "RenamedParents": "R",
}


def kura_calls(n, n_next):
    return math.ceil(n / 12) + n + n_next


def clio_calls(n, n_next):
    return math.ceil(n / 40) + 1 + n + n_next


def stages_per_level(requests):
    """Per level, the number of calls of each stage, from the request order."""
    sequence = "".join(
        STAGES[r["schema_name"]] for r in requests if r["schema_name"] in STAGES
    )
    return [Counter(level) for level in re.findall(r"P+D?A+R*", sequence)]


def topic_texts(n_texts, rng, n_topics=10, words_per_topic=15):
    """Texts over ``n_topics`` topics of made-up words (letters only)."""
    letters = list("abcdefghijklmnopqrstuvwxyz")
    topics = [
        ["".join(rng.choice(letters, 7)) for _ in range(words_per_topic)]
        for _ in range(n_topics)
    ]
    return [" ".join(rng.choice(topics[i % n_topics], 6)) for i in range(n_texts)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--per-cluster", type=int, default=5)
    parser.add_argument("--max-clusters", type=int, default=10)
    parser.add_argument("--topics", type=int, default=10)
    args = parser.parse_args()

    import numpy as np
    from sklearn.decomposition import PCA

    from kura_sklearn import ConversationClusterer, KMeansClusterer, OpenAIEmbedder
    from kura_sklearn.llm import LLMSettings
    from kura_sklearn.naming import LLMNamer

    os.environ[TEST_KEY_ENV] = "sk-benchmark"
    server = FakeOpenAIServer().start()
    print(f"{machine()}; {today()}; max_clusters={args.max_clusters}")
    print(
        "| base clusters | level | clusters in | parents out | propose | dedup | "
        "assign | rename | our calls | fallback parents | before | Kura's | "
        "Clio's |"
    )
    print("| --- " * 13 + "|")
    rng = np.random.RandomState(0)
    try:
        for n_base in args.sizes:
            server.reset()
            server.configure(
                record_requests=True, match_words=True, choice_tag=["cluster", "name"]
            )
            texts = topic_texts(n_base * args.per_cluster, rng, args.topics)
            common = {"base_url": server.base_url, "api_key_env": TEST_KEY_ENV}
            model = ConversationClusterer(
                OpenAIEmbedder(model="e", dimensions=64, llm=LLMSettings(**common)),
                KMeansClusterer(n_clusters=n_base, n_init=1),
                namer=LLMNamer("m", llm=LLMSettings(max_concurrency=20, **common)),
                projector=PCA(2),
                max_clusters=args.max_clusters,
                random_state=0,
            )
            start = time.perf_counter()
            model.fit(texts)
            seconds = time.perf_counter() - start
            per_level = Counter(c.level for c in model.clusters_)
            stages = stages_per_level(server.requests())
            before = BEFORE.get(n_base, [])
            totals = Counter()
            n_in = n_base
            for level in range(1, max(per_level) + 1):
                n_out = sum(
                    c.parent_id is None or model.clusters_[c.parent_id].level > level
                    for c in model.clusters_
                    if c.level <= level
                )
                ours = model.n_llm_calls_[f"level_{level}"]
                stage = stages[level - 1] if level <= len(stages) else Counter()
                kura, clio = kura_calls(n_in, n_out), clio_calls(n_in, n_out)
                was = before[level - 1] if level <= len(before) else ""
                totals.update(ours=ours, kura=kura, clio=clio, before=was or 0)
                fallback = sum(
                    c.level == level and c.name_source == "fallback"
                    for c in model.clusters_
                )
                print(
                    f"| {n_base} | {level} | {n_in} | {n_out} | {stage['P']} | "
                    f"{stage['D']} | {stage['A']} | {stage['R']} | {ours} | "
                    f"{fallback} | {was} | {kura} | {clio} |"
                )
                n_in = n_out
            n_roots = sum(c.parent_id is None for c in model.clusters_)
            naming = model.n_llm_calls_["naming"]
            print(
                f"| {n_base} | all | | {n_roots} roots | | | | "
                f"| **{totals['ours']}** | "
                f"| {totals['before']} | {totals['kura']} | {totals['clio']} |"
                f" (naming: {naming} calls; fit {seconds:.1f} s; "
                f"ours / Kura's {totals['ours'] / totals['kura']:.2f})"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
