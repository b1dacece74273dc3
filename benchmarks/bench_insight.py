"""Insight quality: does the offline tree reproduce labels it never saw?

For each labelled corpus, ``make_kura_pipeline(cache_dir=..., random_state=0)``
(everything else default) is fitted on the conversations alone; the labels
are kept aside and only used by :func:`kura_sklearn.metrics.score_tree`
afterwards. Corpora, read from ``../shared`` beside the repository:

- **SGD** (Schema-Guided Dialogue, Rastogi et al. 2020, CC BY-SA 4.0):
  real multi-turn user/assistant dialogues from ``../shared/data/sgd/``, the
  7,463 that stay in one domain; a seeded sample of ``--n-sgd`` (0 = all).
  Fine label: the first intent (37); coarse label: the domain (19).
- **BANKING77** (Casanueva et al. 2020, CC BY 4.0): the 3,080 test queries as
  one-user-message conversations; fine label: the intent (77); no coarse one.
- **sample**: the bundled 300 sample conversations (20 topics), their
  ``metadata["topic"]`` as fine and as coarse label (nothing coarser exists);
  the conversations reach the pipeline without their metadata.

Measured per corpus, each beside baselines from the same run and the same
embeddings (the fitted clusterer's summaries, embedded by its embedder):

- base clusters vs fine labels: NMI, ARI, harmonic purity; baseline
  scikit-learn ``KMeans`` with as many clusters over all points;
- roots vs coarse labels: NMI, ARI, harmonic purity, the largest root's
  share, the number of roots; baselines ``KMeans(n_clusters=max_clusters)``
  over all points, and Ward linkage cut once at ``max_clusters`` over the
  base centroids (each conversation follows its base cluster);
- nodes with a single child;
- name retrieval (does a cluster's embedded name sit nearest its majority
  label's name?), at the base and at the roots, size-weighted, and name
  accuracy (the share of conversations whose own label is nearest their
  cluster's name); baseline the medoid (the member summary nearest the
  centroid) used as the name;
- label-free: keyword coherence and diversity (Turftopic's definitions) of
  the base clusters and of the roots.

Scores are printed x100. Nothing here is tuned to these corpora; the only
change to the default pipeline is ``cluster__store_embeddings=True``, which
keeps the embeddings for the scoring and changes no result. Every text is
embedded through the per-item cache (``--cache-dir``), so a second run
embeds nothing. The markdown is printed and, unless ``--no-write``, replaces
the section "Insight quality (issue 11)" of ``benchmarks/RESULTS.md``.

Run: python benchmarks/bench_insight.py [--n-sgd 3000] [--corpora sgd banking77 sample]
"""

import argparse
import csv
import json
import os
import sys
import time
from collections import Counter

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from _common import ROOT, SHARED_BANKING77, machine, today  # noqa: E402

SHARED_SGD = ROOT.parent / "shared" / "data" / "sgd"
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
SECTION = "## Insight quality (issue 11)"
CORPORA = ("sgd", "banking77", "sample")


# --- corpora: conversations and the labels kept aside -----------------------------


def _conversation(chat_id, messages):
    from kura_sklearn import Conversation

    return Conversation(
        chat_id=chat_id,
        messages=[{"role": m["role"], "content": m["content"]} for m in messages],
    )


def load_sgd(n, seed=0):
    """Single-domain SGD dialogues, a seeded sample of ``n`` (0 = all)."""
    path = SHARED_SGD / "dialogues.jsonl"
    if not path.exists():
        return None
    with open(path, encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    records = [r for r in records if len(r["domains"]) == 1]
    if n and n < len(records):
        keep = np.sort(
            np.random.default_rng(seed).choice(len(records), n, replace=False)
        )
        records = [records[i] for i in keep]
    conversations = [_conversation(r["chat_id"], r["messages"]) for r in records]
    return {
        "name": f"SGD, single-domain ({len(records):,} dialogues)",
        "conversations": conversations,
        "fine": [r["intents"][0] for r in records],
        "coarse": [r["domains"][0] for r in records],
        "fine_name": "first intent",
        "coarse_name": "domain",
    }


def load_banking77():
    path = SHARED_BANKING77 / "test.csv"
    if not path.exists():
        return None
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    conversations = [
        _conversation(f"b77-{i}", [{"role": "user", "content": r["text"]}])
        for i, r in enumerate(rows)
    ]
    return {
        "name": f"BANKING77 test ({len(rows):,} queries)",
        "conversations": conversations,
        "fine": [r["category"] for r in rows],
        "coarse": None,
        "fine_name": "intent",
        "coarse_name": None,
    }


def load_sample():
    from kura_sklearn.datasets import load_sample_conversations

    sample = load_sample_conversations()
    topics = [c.metadata["topic"] for c in sample]
    conversations = [
        _conversation(c.chat_id, [m.model_dump() for m in c.messages]) for c in sample
    ]
    return {
        "name": f"bundled sample ({len(sample)} conversations)",
        "conversations": conversations,
        "fine": topics,
        "coarse": topics,
        "fine_name": "topic",
        "coarse_name": "topic",
    }


# --- baselines on the same embeddings ---------------------------------------------


def partition_scores(labels_true, labels_pred):
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from kura_sklearn.metrics import harmonic_purity

    labels_pred = np.asarray(labels_pred)
    counts = Counter(labels_pred[labels_pred >= 0].tolist())
    return {
        "nmi": normalized_mutual_info_score(labels_true, labels_pred),
        "ari": adjusted_rand_score(labels_true, labels_pred),
        "purity": harmonic_purity(labels_true, labels_pred),
        "share": max(counts.values()) / len(labels_pred),
        "k": len(counts),
    }


def baselines(model, fine, coarse):
    """K-means at the base's k and at max_clusters, Ward over the base centroids."""
    from sklearn.cluster import AgglomerativeClustering, KMeans

    points = model.embeddings_
    out = {}
    base_k = KMeans(model.n_clusters_, n_init=1, random_state=0).fit_predict(points)
    out["base_kmeans"] = partition_scores(fine, base_k)
    if coarse is not None:
        k = model.max_clusters
        roots_k = KMeans(k, n_init=1, random_state=0).fit_predict(points)
        out["root_kmeans"] = partition_scores(coarse, roots_k)
        ward = AgglomerativeClustering(n_clusters=k, linkage="ward")
        groups = ward.fit_predict(model.centroids_)
        labels = np.asarray(model.labels_)
        out["root_ward"] = partition_scores(
            coarse, np.where(labels >= 0, groups[np.maximum(labels, 0)], -1)
        )
    return out


def centroid_reference(model, fine, coarse):
    """Name retrieval of the clusters' mean embeddings used as the names.

    No text can be nearer a cluster's meaning than its centroid, so this is
    what a name chosen by its similarity to the centroid approaches, beside
    the medoid baseline (the member nearest the centroid).
    """
    from kura_sklearn.metrics import readable_label
    from kura_sklearn.metrics._insight import _retrieval, _unit_rows
    from kura_sklearn.naming import group_indices

    points = _unit_rows(model.embeddings_)
    labels = np.asarray(model.labels_)
    tree = model.tree_
    base = [c for c in tree if c.level == 0]
    conv_root = tree.root_of(labels)  # the score's own mapping, noise -1
    roots = [tree[r] for r in tree.roots]
    out = {}
    for level, nodes, assignment, truth in [
        ("base", base, labels, fine),
        ("root", roots, conv_root, coarse),
    ]:
        if truth is None:
            continue
        ids = np.array([c.id for c in nodes], dtype=np.intp)
        members = group_indices(assignment, ids)
        vectors = np.stack([points[rows].mean(axis=0) for rows in members])
        out[level], _ = _retrieval(
            vectors,
            members,
            np.asarray(truth),
            readable_label,
            model.embedder_.transform,
        )
    return out


# --- one corpus -------------------------------------------------------------------


def run_corpus(corpus, cache_dir):
    from kura_sklearn import make_kura_pipeline
    from kura_sklearn.metrics import score_tree

    pipe = make_kura_pipeline(cache_dir=cache_dir, random_state=0)
    pipe.set_params(cluster__store_embeddings=True)
    start = time.perf_counter()
    pipe.fit(corpus["conversations"])
    t_fit = time.perf_counter() - start
    model = pipe[-1]

    start = time.perf_counter()
    report = score_tree(
        pipe, fine_labels=corpus["fine"], coarse_labels=corpus["coarse"]
    ).as_dict()
    t_score = time.perf_counter() - start

    start = time.perf_counter()
    base = baselines(model, corpus["fine"], corpus["coarse"])
    base["centroid"] = centroid_reference(model, corpus["fine"], corpus["coarse"])
    t_base = time.perf_counter() - start
    return {
        "report": report,
        "baselines": base,
        "max_clusters": model.max_clusters,
        "times": (t_fit, t_score, t_base),
    }


def pct(value):
    return "-" if value is None else f"{100 * value:.1f}"


def table(corpus, result):
    r, b = result["report"], result["baselines"]
    k = result["max_clusters"]
    fine, coarse = corpus["fine_name"], corpus["coarse_name"]
    rk, rw = b.get("root_kmeans"), b.get("root_ward")
    bk = b["base_kmeans"]
    rows = [
        ("base clusters", str(r["n_base_clusters"]), f"{bk['k']} (same k)", "", ""),
        (f"base NMI vs {fine}", pct(r["base_nmi"]), pct(bk["nmi"]), "", ""),
        (f"base ARI vs {fine}", pct(r["base_ari"]), pct(bk["ari"]), "", ""),
        (
            f"base harmonic purity vs {fine}",
            pct(r["base_harmonic_purity"]),
            pct(bk["purity"]),
            "",
            "",
        ),
    ]
    if coarse is not None:
        rows += [
            ("roots", str(r["n_roots"]), str(rk["k"]), str(rw["k"]), ""),
            (
                f"roots NMI vs {coarse}",
                pct(r["root_nmi"]),
                pct(rk["nmi"]),
                pct(rw["nmi"]),
                "",
            ),
            (
                f"roots ARI vs {coarse}",
                pct(r["root_ari"]),
                pct(rk["ari"]),
                pct(rw["ari"]),
                "",
            ),
            (
                f"roots harmonic purity vs {coarse}",
                pct(r["root_harmonic_purity"]),
                pct(rk["purity"]),
                pct(rw["purity"]),
                "",
            ),
            (
                "largest root's share (%)",
                pct(r["largest_root_share"]),
                pct(rk["share"]),
                pct(rw["share"]),
                "",
            ),
        ]
    else:
        rows += [
            ("roots", str(r["n_roots"]), "", "", ""),
            ("largest root's share (%)", pct(r["largest_root_share"]), "", "", ""),
        ]
    rows += [
        ("nodes with a single child", str(r["n_single_child"]), "", "", ""),
        (
            f"name retrieval, base vs {fine} (%)",
            pct(r["base_name_hit_rate"]),
            "",
            "",
            pct(r["base_medoid_hit_rate"]),
        ),
    ]
    rows.append(
        (
            "name retrieval, base, the centroid itself as the name (%)",
            "",
            "",
            "",
            pct(b["centroid"].get("base")),
        )
    )
    rows.append(
        (
            f"name accuracy, base vs {fine} (%)",
            pct(r["base_name_accuracy"]),
            "",
            "",
            pct(r["base_medoid_accuracy"]),
        )
    )
    if coarse is not None:
        for measure in ("hit_rate", "accuracy"):
            title = "retrieval" if measure == "hit_rate" else "accuracy"
            rows.append(
                (
                    f"name {title}, roots vs {coarse} (%)",
                    pct(r[f"root_name_{measure}"]),
                    "",
                    "",
                    pct(r[f"root_medoid_{measure}"]),
                )
            )
        rows.append(
            (
                "name retrieval, roots, the centroid itself as the name (%)",
                "",
                "",
                "",
                pct(b["centroid"].get("root")),
            )
        )
    rows += [
        ("keyword coherence, base (label-free)", pct(r["base_coherence"]), "", "", ""),
        ("keyword diversity, base (label-free)", pct(r["base_diversity"]), "", "", ""),
        ("keyword coherence, roots (label-free)", pct(r["root_coherence"]), "", "", ""),
        ("keyword diversity, roots (label-free)", pct(r["root_diversity"]), "", "", ""),
    ]
    lines = [
        f"| measure | tree | K-means over all points (k = base's / {k}) "
        f"| Ward over base centroids, cut at {k} | medoid names |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def describe(corpus):
    fine = Counter(corpus["fine"])
    text = (
        f"{len(fine)} {corpus['fine_name']} labels (largest "
        f"{max(fine.values()) / len(corpus['fine']):.0%})"
    )
    if corpus["coarse"] is not None and corpus["coarse_name"] != corpus["fine_name"]:
        coarse = Counter(corpus["coarse"])
        text += (
            f", {len(coarse)} {corpus['coarse_name']} labels (largest "
            f"{max(coarse.values()) / len(corpus['coarse']):.0%})"
        )
    return text


def goals(results):
    """The issue's "done when" figures, each with its verdict."""

    def row(goal, measured, met):
        return f"| {goal} | {measured} | {'met' if met else 'missed'} |"

    lines = []
    if "sgd" in results:
        r, b = results["sgd"]["report"], results["sgd"]["baselines"]
        share, nmi, kmeans = r["largest_root_share"], r["root_nmi"], b["root_kmeans"]
        lines += [
            row("SGD: largest root's share <= 25%", pct(share), share <= 0.25),
            row(
                f"SGD: roots NMI vs domain >= 80 and >= K-means ({pct(kmeans['nmi'])})",
                pct(nmi),
                nmi >= 0.8 and nmi >= kmeans["nmi"],
            ),
        ]
    corpora = [("sgd", "SGD", ("base", "root")), ("banking77", "BANKING77", ("base",))]
    for key, title, levels in corpora:
        if key not in results:
            continue
        r = results[key]["report"]
        for level in levels:
            gain = r[f"{level}_name_hit_rate"] - r[f"{level}_medoid_hit_rate"]
            where = "base" if level == "base" else "roots"
            lines.append(
                row(
                    f"{title}: names minus medoid names, {where}, >= +5 points",
                    f"{100 * gain:+.1f}",
                    gain >= 0.05,
                )
            )
    if not lines:
        return []
    return [
        "",
        "### Goals of issue 11",
        "",
        "| goal | measured | verdict |",
        "| --- | --- | --- |",
        *lines,
    ]


def write_results(lines):
    """Replace (or append) the section in RESULTS.md."""
    text = RESULTS.read_text(encoding="utf-8")
    section = "\n".join(lines).rstrip() + "\n"
    start = text.find(SECTION)
    if start == -1:
        text = text.rstrip() + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(SECTION))
        rest = "" if end == -1 else "\n" + text[end + 1 :]
        text = text[:start] + section + rest
    RESULTS.write_text(text, encoding="utf-8")


def revision():
    """The commit measured, "+ local changes" when the tree differs from it."""
    import subprocess

    def git(*args):
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "kura_sklearn")
    return f"{commit} + local changes" if dirty else commit


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-sgd", type=int, default=3000, help="0 = all 7,463")
    parser.add_argument("--corpora", nargs="+", choices=CORPORA, default=CORPORA)
    parser.add_argument(
        "--cache-dir", default=str(ROOT / "benchmarks" / ".cache" / "insight")
    )
    parser.add_argument("--no-write", action="store_true", help="leave RESULTS.md")
    args = parser.parse_args()

    command = " ".join(["python benchmarks/bench_insight.py", *sys.argv[1:]])
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    loaders = {
        "sgd": lambda: load_sgd(args.n_sgd),
        "banking77": load_banking77,
        "sample": load_sample,
    }
    out = [
        SECTION,
        "",
        f"Command: `{command}`. Measured {today()} on {machine()}; "
        f"load average at start {load}; code at {revision()}. Written by the "
        "benchmark itself.",
        "",
        "`make_kura_pipeline(cache_dir=..., random_state=0)` (offline: extractive "
        "summaries, all-MiniLM-L6-v2, K-means at Kura's k = n / 10, "
        "key-phrase names (`KeyphraseNamer`), "
        "`max_clusters=10`) fitted on the conversations alone; the labels are used "
        "only by `kura_sklearn.metrics.score_tree` afterwards. Scores x100; every "
        "baseline is computed in the same run on the same embeddings. Noise: none "
        "(K-means). Name retrieval: share of conversations whose cluster's name, "
        "embedded with the same embedder, is nearest the readable name of its "
        "majority label (`card_arrival` -> `card arrival`); name accuracy: share of "
        "conversations whose own label is the one nearest their cluster's name (a "
        "large mixed cluster named after its plurality label hits for all its "
        "members, but is accurate only for those with that label). The medoid "
        "column uses the member summary nearest the centroid as the name; its "
        "'centroid itself' rows use the clusters' mean embedding as the name's "
        "embedding, the reference any name chosen by its similarity to the "
        "centroid approaches (no text is nearer the cluster's meaning). "
        "Keyword coherence "
        "and diversity follow Turftopic (mean pairwise cosine of a cluster's "
        "keywords, share of distinct keywords).",
    ]
    timings, results = [], {}
    for key in args.corpora:
        corpus = loaders[key]()
        if corpus is None:
            print(f"{key}: data not found under ../shared, skipped", file=sys.stderr)
            continue
        print(f"fitting {corpus['name']}...", file=sys.stderr, flush=True)
        result = results[key] = run_corpus(corpus, args.cache_dir)
        lines = [
            "",
            f"### {corpus['name']}",
            "",
            describe(corpus) + ".",
            "",
            *table(corpus, result),
        ]
        print("\n".join(lines), flush=True)
        out += lines
        t_fit, t_score, t_base = result["times"]
        timings.append(
            f"| {corpus['name']} | {t_fit:.1f} | {t_score:.1f} | {t_base:.1f} |"
        )
    end_load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    cache = os.path.relpath(args.cache_dir, ROOT)
    lines = goals(results) + [
        "",
        "### Timings (s)",
        "",
        "| corpus | pipeline fit | score_tree | baselines |",
        "| --- | --- | --- | --- |",
        *timings,
        "",
        f"Load average at end: {end_load}. Item cache: `{cache}` "
        "(a first run embeds every text; later runs read them).",
    ]
    print("\n".join(lines))
    out += lines
    if not args.no_write:
        write_results(out)
        print(f"\nwritten to {RESULTS}", file=sys.stderr)


if __name__ == "__main__":
    main()
