"""KMeansTreeClusterer against flat K-means at Kura's k = n / 10: time and quality.

Kura's rule puts n points into n / 10 clusters, so flat K-means costs
n x n / 10 per iteration. The K-means tree costs near-linear time; this
measures what it gives up. Per size and data set, in one process, one after
the other: flat ``KMeans`` (n_init=1, as ``KMeansClusterer``'s default
"auto" does for k-means++), ``MiniBatchKMeans`` (Kura's choice for large n),
and the tree with its defaults (and, with ``--leaf 256``, larger leaves).

Data sets (both L2-normalised, 384-d, float32):

- ``requests``: all-MiniLM-L6-v2 embeddings of the first n of 100,000
  ``make_synthetic`` requests (embedded once, cached in ``benchmarks/.cache``),
  labelled by topic (49 topics). NMI and
  homogeneity are against the topics: with n / 10 clusters every method
  over-splits the topics, so homogeneity (does each cluster hold one
  topic?) is the telling one.
- ``blobs``: n / 10 random unit directions with 10 points each on average,
  plus Gaussian noise (``--noise``), labelled by direction: NMI against the
  true n / 10 groups.

Ratios are tree / flat in the same run; the inertia ratio is the quality
cost (1.0 = as good as flat K-means; higher is worse).

Run: python benchmarks/bench_tree_kmeans.py [--sizes 10000 100000]
         [--data requests blobs] [--methods kmeans minibatch tree]
"""

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import machine, today  # noqa: E402


def _cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load_data(kind, n, noise, seed=0):
    import numpy as np

    if kind == "requests":
        from make_synthetic import embed_texts, make_requests

        # the first n of a pool of 100,000 (embedded once, cached)
        pool = max(n, 100_000)
        texts, labels, _ = make_requests(pool, seed)
        X, _ = embed_texts(texts, HERE / ".cache")
        X = np.ascontiguousarray(X[:n], dtype=np.float32)
        return X, np.asarray(labels[:n])
    rng = np.random.default_rng(seed)
    k = n // 10
    centres = rng.standard_normal((k, 384), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = rng.integers(k, size=n)
    X = centres[labels] + rng.standard_normal((n, 384), dtype=np.float32) * np.float32(
        noise / np.sqrt(384)
    )
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X, labels


def make(method, k, leaf):
    from sklearn.cluster import KMeans, MiniBatchKMeans

    from kura_sklearn.cluster import KMeansTreeClusterer

    if method == "kmeans":
        return KMeans(n_clusters=k, n_init=1, random_state=0)
    if method == "minibatch":
        return MiniBatchKMeans(n_clusters=k, n_init=1, random_state=0)
    if method == "tree-leaf":
        return KMeansTreeClusterer(n_clusters=k, max_leaf_clusters=leaf, random_state=0)
    return KMeansTreeClusterer(n_clusters=k, random_state=0)


def inertia(X, labels, centers):
    import numpy as np

    total = 0.0
    for start in range(0, len(X), 8192):
        diff = X[start : start + 8192] - centers[labels[start : start + 8192]]
        total += float(np.einsum("ij,ij->i", diff, diff).sum(dtype=np.float64))
    return total


def run(kind, n, methods, noise, leaf):
    from sklearn.metrics import homogeneity_score, normalized_mutual_info_score

    X, y = load_data(kind, n, noise)
    k = n // 10
    rows = []
    for method in methods:
        model = make(method, k, leaf)
        load = os.getloadavg()[0]
        t0, c0 = time.perf_counter(), _cpu()
        labels = model.fit_predict(X)
        wall, cpu = time.perf_counter() - t0, _cpu() - c0
        rows.append(
            {
                "data": kind,
                "n": n,
                "k": k,
                "method": method,
                "wall": wall,
                "cpu": cpu,
                "inertia": inertia(X, labels, model.cluster_centers_),
                "nmi": normalized_mutual_info_score(y, labels),
                "homogeneity": homogeneity_score(y, labels),
                "clusters_used": int(len(set(labels.tolist()))),
                "load": load,
            }
        )
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    parser.add_argument("--data", nargs="+", default=["requests", "blobs"])
    parser.add_argument(
        "--methods",
        nargs="+",
        default=["kmeans", "minibatch", "tree"],
        choices=["kmeans", "minibatch", "tree", "tree-leaf"],
    )
    parser.add_argument("--noise", type=float, default=0.6)
    parser.add_argument("--leaf", type=int, default=256)
    parser.add_argument("--json", help="append raw rows to this file")
    args = parser.parse_args()
    print(f"# bench_tree_kmeans: {machine()}; {today()}")
    print(f"command: python benchmarks/bench_tree_kmeans.py {' '.join(sys.argv[1:])}")
    print(
        "\n| data | n | k | method | wall s | CPU s | inertia / flat | NMI | "
        "homogeneity | clusters used | time / flat | load |"
    )
    print("|---" * 12 + "|")
    for kind in args.data:
        for n in args.sizes:
            rows = run(kind, n, args.methods, args.noise, args.leaf)
            if args.json:
                with open(args.json, "a") as f:
                    for row in rows:
                        f.write(json.dumps(row) + "\n")
            flat = next((r for r in rows if r["method"] == "kmeans"), None)
            for r in rows:
                ratio = r["inertia"] / flat["inertia"] if flat else float("nan")
                speed = r["wall"] / flat["wall"] if flat else float("nan")
                print(
                    f"| {kind} | {n:,} | {r['k']:,} | {r['method']} | "
                    f"{r['wall']:.1f} | {r['cpu']:.1f} | {ratio:.3f} | "
                    f"{r['nmi']:.3f} | {r['homogeneity']:.3f} | "
                    f"{r['clusters_used']:,} | {speed:.3f} | {r['load']:.1f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
