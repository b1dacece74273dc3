"""Clustering quality on real labelled text: BANKING77's 3,080 test queries.

The queries (77 intents; Casanueva et al., "Efficient Intent Detection with
Dual Sentence Encoders", 2020; CC BY 4.0) are read from
``../shared/data/banking77/test.csv`` beside the repository and compared with
their intent labels by NMI, ARI and V-measure (scikit-learn's; NMI and V are
printed x100 as papers do). Measured in one run:

- baselines: chance (uniform random labels, 77 clusters), TF-IDF + K-means
  (77), and scikit-learn's ``KMeans(77)`` on the same embeddings;
- (a) the default embedder (all-MiniLM-L6-v2) + ``KMeansClusterer(n_clusters=77)``,
  over ``--seeds`` seeds, against the published reference in the data's
  README (K-means with the true k on all-mpnet-base-v2: NMI 80.9);
- (b) the whole offline pipeline, ``make_kura_pipeline()`` fitted on the
  queries as one-turn conversations, with Kura's sizing (k = ceil(3080/10) =
  308): base clusters, then each meta-cluster level;
- (c) model selection without labels: ``GridSearchCV`` over K-means'
  ``n_clusters`` (8 values), ``cv=[(idx, idx)]``, refit on
  ``silhouette_scorer`` (the scorer docs/model_selection.md recommends),
  repeated for ``--grid-seeds`` seeds; how far (NMI points) its pick is from
  the grid's best NMI (goal: within 2). Davies-Bouldin and Calinski-Harabasz
  picks are shown too, and a second search adds HDBSCAN candidates, whose
  noise ``silhouette_scorer`` leaves out; the row
  "noise_aware_silhouette" ranks by ``noise_aware_silhouette_scorer``
  (silhouette x the fraction kept, i.e. noise scored as 0).

Texts are embedded once, through the per-item cache (``--cache-dir``); the
searches run on the embedding matrix.

Run: python benchmarks/bench_quality.py [--seeds 5] [--grid-seeds 3]
"""

import argparse
import csv
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from _common import ROOT, SHARED_BANKING77, machine, today  # noqa: E402

REFERENCE_NMI = 80.9  # K-means, true k, all-mpnet-base-v2 (data README)
GRID_K = [20, 40, 60, 77, 100, 150, 200, 308]
HDBSCAN_SIZES = [5, 10]


def read_split(split="test"):
    with open(SHARED_BANKING77 / f"{split}.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [r["category"] for r in rows]


def scores(y, labels):
    from sklearn.metrics import (
        adjusted_rand_score,
        normalized_mutual_info_score,
        v_measure_score,
    )

    return {
        "nmi": 100 * normalized_mutual_info_score(y, labels),
        "ari": 100 * adjusted_rand_score(y, labels),
        "v": 100 * v_measure_score(y, labels),
        "k": len(set(labels) - {-1}),
    }


def mean_sd(rows, key):
    values = [r[key] for r in rows]
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.1f} ± {sd:.1f}"


def row(name, rows, seconds, goal=""):
    return (
        f"| {name} | {rows[0]['k']} | {mean_sd(rows, 'nmi')} | {mean_sd(rows, 'ari')} "
        f"| {mean_sd(rows, 'v')} | {seconds:.1f} | {goal} |"
    )


def timed(func):
    start = time.perf_counter()
    out = func()
    return out, time.perf_counter() - start


# --- model selection -----------------------------------------------------------


def _noise(estimator, X, y=None):
    return float(np.mean(np.asarray(estimator.labels_) == -1))


def _count(estimator, X, y=None):
    return float(len(set(np.asarray(estimator.labels_).tolist()) - {-1}))


def search(estimator, grid, X, y, refit):
    from sklearn.model_selection import GridSearchCV

    from kura_sklearn.metrics import (
        adjusted_rand_scorer,
        calinski_harabasz_scorer,
        davies_bouldin_scorer,
        noise_aware_silhouette_scorer,
        normalized_mutual_info_scorer,
        silhouette_scorer,
    )

    idx = np.arange(len(y))
    scoring = {
        "silhouette": silhouette_scorer,
        "noise_aware_silhouette": noise_aware_silhouette_scorer,
        "davies_bouldin": davies_bouldin_scorer,
        "calinski_harabasz": calinski_harabasz_scorer,
        "nmi": normalized_mutual_info_scorer,
        "ari": adjusted_rand_scorer,
        "noise": _noise,
        "k": _count,
    }
    gs = GridSearchCV(estimator, grid, cv=[(idx, idx)], scoring=scoring, refit=refit)
    return gs.fit(X, y)


def candidates(gs, label):
    res = gs.cv_results_
    out = []
    for i, params in enumerate(res["params"]):
        out.append(
            {
                "name": label(params),
                **{
                    key: float(res[f"mean_test_{key}"][i])
                    for key in (
                        "silhouette",
                        "noise_aware_silhouette",
                        "davies_bouldin",
                        "calinski_harabasz",
                        "nmi",
                        "ari",
                        "noise",
                        "k",
                    )
                },
                "seconds": float(res["mean_fit_time"][i] + res["mean_score_time"][i]),
            }
        )
    return out


def pick(rows, key):
    return max(rows, key=lambda r: r[key])


def selection_table(rows):
    print(
        "| candidate | clusters | noise | silhouette | -DB | CH | NMI | ARI "
        "| fit+score (s) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['name']} | {r['k']:.0f} | {r['noise']:.2f} | "
            f"{r['silhouette']:.4f} | {r['davies_bouldin']:.3f} | "
            f"{r['calinski_harabasz']:.1f} | {100 * r['nmi']:.1f} | "
            f"{100 * r['ari']:.1f} | {r['seconds']:.1f} |"
        )


def picks_table(rows, title):
    best = pick(rows, "nmi")
    best_ari = pick(rows, "ari")
    print(
        f"\n{title}: grid's best NMI {100 * best['nmi']:.1f} ({best['name']}), "
        f"best ARI {100 * best_ari['ari']:.1f} ({best_ari['name']})"
    )
    print("| picked by | candidate | NMI | NMI gap | ARI | ARI gap | goal (NMI gap) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    gaps = {}
    for key, goal in [
        ("silhouette", "<= 2 points"),
        ("davies_bouldin", ""),
        ("calinski_harabasz", ""),
        ("noise_aware_silhouette", "<= 2 points"),
    ]:
        chosen = pick(rows, key)
        gap = 100 * (best["nmi"] - chosen["nmi"])
        gaps[key] = gap
        verdict = ("met" if gap <= 2 else "missed") if goal else ""
        print(
            f"| {key} | {chosen['name']} | {100 * chosen['nmi']:.1f} | {gap:.1f} | "
            f"{100 * chosen['ari']:.1f} | "
            f"{100 * (best_ari['ari'] - chosen['ari']):.1f} | {goal} {verdict} |"
        )
    return gaps


# --- the whole pipeline ----------------------------------------------------------


def level_labels(model, level):
    """Each conversation's ancestor at ``level`` (its root if the tree is lower)."""
    parent = {c.id: c.parent_id for c in model.clusters_}
    depth = {c.id: c.level for c in model.clusters_}
    out = []
    for label in model.labels_:
        cid = int(label)
        while cid != -1 and depth[cid] < level and parent[cid] is not None:
            cid = parent[cid]
        out.append(cid)
    return np.asarray(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--grid-seeds", type=int, default=3)
    parser.add_argument(
        "--cache-dir", default=str(ROOT / "benchmarks" / ".cache" / "quality")
    )
    parser.add_argument("--skip-pipeline", action="store_true")
    args = parser.parse_args()

    if not (SHARED_BANKING77 / "test.csv").exists():
        raise SystemExit(f"BANKING77 not found at {SHARED_BANKING77}")
    texts, y = read_split("test")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"BANKING77 test: {len(texts)} queries, {len(set(y))} intents; {machine()}; "
        f"{today()}; load average at start: {load}"
    )

    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    from kura_sklearn import (
        Conversation,
        HDBSCANClusterer,
        KMeansClusterer,
        SentenceTransformerEmbedder,
        make_kura_pipeline,
    )

    embedder = SentenceTransformerEmbedder(cache_dir=args.cache_dir)
    X, t_embed = timed(lambda: embedder.transform(texts))
    print(f"embedding (item cache {args.cache_dir}): {t_embed:.1f} s")

    k = len(set(y))
    seeds = range(args.seeds)
    rng = np.random.default_rng(0)
    chance = [scores(y, rng.integers(k, size=len(y))) for _ in seeds]
    tfidf, t_tfidf = timed(
        lambda: TfidfVectorizer(sublinear_tf=True).fit_transform(texts)
    )
    runs = {}
    for name, make, data in [
        ("TF-IDF + K-means", lambda s: KMeans(k, random_state=s), tfidf),
        ("scikit-learn KMeans", lambda s: KMeans(k, random_state=s), X),
        ("KMeansClusterer", lambda s: KMeansClusterer(n_clusters=k, random_state=s), X),
    ]:
        start = time.perf_counter()
        runs[name] = [scores(y, make(s).fit(data).labels_) for s in seeds]
        runs[name + " time"] = (time.perf_counter() - start) / len(seeds)

    print(f"\n(a) K-means with the true k = {k}; mean ± sd over {args.seeds} seeds")
    print("| method | clusters | NMI | ARI | V-measure | time per fit (s) | goal |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(row("chance (uniform random labels)", chance, 0.0))
    print(
        row(
            "TF-IDF + scikit-learn KMeans",
            runs["TF-IDF + K-means"],
            runs["TF-IDF + K-means time"] + t_tfidf / args.seeds,
        )
    )
    print(
        row(
            "MiniLM + scikit-learn KMeans",
            runs["scikit-learn KMeans"],
            runs["scikit-learn KMeans time"],
        )
    )
    print(
        row(
            "MiniLM + KMeansClusterer(n_clusters=77)",
            runs["KMeansClusterer"],
            runs["KMeansClusterer time"],
            f"reference NMI {REFERENCE_NMI} (all-mpnet-base-v2)",
        )
    )
    ours = statistics.mean(r["nmi"] for r in runs["KMeansClusterer"])
    print(f"NMI ours - reference: {ours - REFERENCE_NMI:+.1f} points")

    if not args.skip_pipeline:
        conversations = [
            Conversation(chat_id=str(i), messages=[{"role": "user", "content": t}])
            for i, t in enumerate(texts)
        ]
        pipe = make_kura_pipeline(cache_dir=args.cache_dir)
        _, t_pipe = timed(lambda: pipe.fit(conversations))
        model = pipe[-1]
        levels = sorted({c.level for c in model.clusters_})
        print(
            f"\n(b) make_kura_pipeline() fitted on the {len(texts)} queries as "
            f"one-turn conversations: {t_pipe:.1f} s (map: {model.projector_.method_})"
        )
        print("| level | clusters | NMI | ARI | V-measure |")
        print("| --- | --- | --- | --- | --- |")
        for level in levels:
            labels = model.labels_ if level == 0 else level_labels(model, level)
            s = scores(y, labels)
            name = "base" if level == 0 else f"meta level {level}"
            print(
                f"| {name} | {s['k']} | {s['nmi']:.1f} | {s['ari']:.1f} | "
                f"{s['v']:.1f} |"
            )
        same = np.mean(np.asarray(pipe[0].transform(conversations)["summary"]) == texts)
        print(f"extractive summaries equal to the query: {same:.1%}")

    print(
        f"\n(c) model selection by silhouette_scorer: GridSearchCV over "
        f"n_clusters {GRID_K}, cv=[(idx, idx)], refit='silhouette'"
    )
    kmeans_gaps, all_rows = [], []
    for seed in range(args.grid_seeds):
        gs, t_grid = timed(
            lambda seed=seed: search(
                KMeansClusterer(random_state=seed),
                {"n_clusters": GRID_K},
                X,
                y,
                refit="silhouette",
            )
        )
        rows = candidates(gs, lambda p: f"K-means k={p['n_clusters']}")
        print(f"\nseed {seed}: search {t_grid:.1f} s; best_params_ = {gs.best_params_}")
        selection_table(rows)
        kmeans_gaps.append(
            picks_table(rows, f"seed {seed}, K-means grid ({len(rows)})")
        )
        all_rows.append(rows)

    hdb, t_hdb = timed(
        lambda: search(
            HDBSCANClusterer(), {"min_cluster_size": HDBSCAN_SIZES}, X, y, refit=False
        )
    )
    hdb_rows = candidates(
        hdb, lambda p: f"HDBSCAN min_cluster_size={p['min_cluster_size']}"
    )
    print(
        f"\nHDBSCAN candidates, search {t_hdb:.1f} s "
        "(noise left out of the internal scores)"
    )
    selection_table(hdb_rows)
    mixed = all_rows[0] + hdb_rows
    mixed_gaps = picks_table(mixed, f"seed 0, K-means + HDBSCAN grid ({len(mixed)})")

    sil = [g["silhouette"] for g in kmeans_gaps]
    print(
        f"\nsummary: silhouette's pick is {statistics.mean(sil):.1f} NMI points "
        f"(max {max(sil):.1f}) from the K-means grid's best over {len(sil)} seeds "
        f"(goal <= 2: {'met' if max(sil) <= 2 else 'missed'}); with HDBSCAN "
        f"candidates: silhouette {mixed_gaps['silhouette']:.1f}, "
        f"noise_aware_silhouette {mixed_gaps['noise_aware_silhouette']:.1f}"
    )
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
