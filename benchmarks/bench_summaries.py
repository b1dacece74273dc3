"""Offline summaries, old vs new: how well each one's embeddings cluster by intent.

The old extractive summary was the first 300 characters of the user's first
two turns (reimplemented here as the baseline); the new one (issue 11, item
4) is the user's most informative sentences, greetings skipped, as
``request``, and the request plus what later user turns add as ``summary``.
Each text is embedded with the default embedder (all-MiniLM-L6-v2, through
the per-item cache ``--cache-dir``) and clustered with scikit-learn's
``KMeans`` with the same settings; NMI and ARI (x100) against the labels,
mean over ``--seeds`` seeds, each beside the baseline from the same run.

- SGD (Rastogi et al., AAAI 2020; CC BY-SA 4.0; ``../shared/data/sgd/``):
  a seeded sample of ``--n`` single-domain multi-turn dialogues, label = the
  first intent; k = the number of intents and Kura's k = n / 10.
- BANKING77 test (Casanueva et al. 2020; CC BY 4.0): 3,080 one-turn queries,
  77 intents, k = 77 and k = n / 10; one-turn text should not get worse.

The labels only score; they never reach the summariser.

Run: python benchmarks/bench_summaries.py [--n 3000] [--seeds 3]
"""

import argparse
import csv
import json
import math
import os
import random
import re
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _common import ROOT, SHARED_BANKING77, machine, today  # noqa: E402

SHARED_SGD = ROOT.parent / "shared" / "data" / "sgd" / "dialogues.jsonl"

_CODE_BLOCK = re.compile(r"```.*?(?:```|$)", re.DOTALL)
_URL = re.compile(r"https?://\S+")
_SPACE = re.compile(r"\s+")


def old_summary(conversation, max_chars=300):
    """The summary before issue 11: the first two user turns, cleaned and cut."""
    turns = [m.content for m in conversation.messages if m.role == "user"]
    if not turns:
        turns = [m.content for m in conversation.messages]
    text = _URL.sub("[url]", _CODE_BLOCK.sub(" [code] ", " ".join(turns[:2])))
    text = _SPACE.sub(" ", text).strip()
    if len(text) > max_chars:
        text = (text[:max_chars].rsplit(" ", 1)[0] or text[:max_chars]) + "..."
    return text or "(empty conversation)"


def load_sgd(n, seed):
    from kura_sklearn import Conversation

    with open(SHARED_SGD, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    rows = [r for r in rows if len(r["domains"]) == 1]
    rows = random.Random(seed).sample(rows, min(n, len(rows)))
    convs = [Conversation(chat_id=r["chat_id"], messages=r["messages"]) for r in rows]
    return convs, [r["intents"][0] for r in rows]


def load_banking77():
    from kura_sklearn import Conversation

    with open(SHARED_BANKING77 / "test.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    convs = [
        Conversation(chat_id=f"b{i}", messages=[{"role": "user", "content": r["text"]}])
        for i, r in enumerate(rows)
    ]
    return convs, [r["category"] for r in rows]


def summarise(convs):
    """Old summaries, new requests and new summaries, with the seconds each took."""
    from kura_sklearn.summarization._extractive import extractive_summary

    start = time.perf_counter()
    old = [old_summary(c) for c in convs]
    t_old = time.perf_counter() - start
    start = time.perf_counter()
    facets = [extractive_summary(c) for c in convs]
    t_new = time.perf_counter() - start
    return {
        "old": old,
        "request": [f["request"] for f in facets],
        "summary": [f["summary"] for f in facets],
    }, (t_old, t_new)


def cluster_scores(X, y, k, seeds):
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    nmi, ari = [], []
    for seed in range(seeds):
        labels = KMeans(n_clusters=k, n_init=1, random_state=seed).fit_predict(X)
        nmi.append(100 * normalized_mutual_info_score(y, labels))
        ari.append(100 * adjusted_rand_score(y, labels))
    return statistics.mean(nmi), statistics.mean(ari)


def run(name, convs, y, embedder, seeds):
    texts, (t_old, t_new) = summarise(convs)
    n = len(convs)
    print(
        f"\n{name}: n={n}, summarising {1000 * t_old / n:.2f} ms (old) vs "
        f"{1000 * t_new / n:.2f} ms (new) per conversation; "
        f"summary != request for {_share(texts['summary'], texts['request'])}, "
        f"request != old for {_share(texts['request'], texts['old'])}; "
        f"mean length old {_mean_len(texts['old'])}, request "
        f"{_mean_len(texts['request'])}, summary {_mean_len(texts['summary'])} chars"
    )
    X = {key: embedder.transform(value) for key, value in texts.items()}
    rows = []
    for k_name, k in [("intents", len(set(y))), ("n/10", math.ceil(n / 10))]:
        base = cluster_scores(X["old"], y, k, seeds)
        for key in ("request", "summary"):
            nmi, ari = cluster_scores(X[key], y, k, seeds)
            rows.append(
                f"| {name} | {k_name} = {k} | {key} | {nmi:.1f} | {base[0]:.1f} "
                f"| {nmi - base[0]:+.1f} | {ari:.1f} | {base[1]:.1f} "
                f"| {ari - base[1]:+.1f} |"
            )
    return rows


def _share(a, b):
    return f"{100 * sum(x != y for x, y in zip(a, b)) / len(a):.0f}%"


def _mean_len(texts):
    return f"{statistics.mean(len(t) for t in texts):.0f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0, help="SGD sample seed")
    parser.add_argument("--seeds", type=int, default=3, help="K-means seeds")
    parser.add_argument(
        "--cache-dir", default=str(ROOT / "benchmarks" / ".cache" / "summaries")
    )
    args = parser.parse_args()

    from kura_sklearn import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder(cache_dir=args.cache_dir)
    print(f"{today()}, {machine()}; K-means n_init=1, mean of {args.seeds} seeds")
    rows = run("SGD", *load_sgd(args.n, args.seed), embedder, args.seeds)
    rows += run("BANKING77", *load_banking77(), embedder, args.seeds)
    print(
        "\n| corpus | k | new text | NMI | NMI old | diff | ARI | ARI old | diff |"
        "\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    )
    print("\n".join(rows))


if __name__ == "__main__":
    main()
