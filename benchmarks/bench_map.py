"""The 2-D map: cost in a new process and quality, UMAP against its alternatives.

Each method maps the same embeddings (BANKING77 queries embedded by the
default OnnxEmbedder, read from ``../shared`` and cached in
``benchmarks/.cache``) in a fresh Python process, so the time counts the
imports and numba's compilation as a user's run pays them. Quality is judged
against the input space on a fixed sample of up to 2,000 points:
trustworthiness (scikit-learn's, 10 neighbours, cosine) and 10-NN
preservation (the share of each point's 10 nearest neighbours in the
embedding space that are among its 10 nearest on the map). Ratios are over
UMAP (the current map) in the same run.

Run: python benchmarks/bench_map.py [--sizes 1000 10000] [--methods umap
     umap-cached tsne pca]
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import banking77_texts, machine, today  # noqa: E402

CACHE = HERE / ".cache"

CHILD = r"""
import json, sys, time
start = time.perf_counter()
import numpy as np
X = np.load(sys.argv[1])
method = sys.argv[2]
from kura_sklearn.projection import MapProjector
proj = MapProjector(method=method, random_state=0)
Y = proj.fit_transform(X)
seconds = time.perf_counter() - start
np.save(sys.argv[3], Y)
print(json.dumps({"seconds": seconds, "method_": proj.method_}))
"""


def embeddings(n):
    import numpy as np

    path = CACHE / f"banking77_onnx_{n}.npy"
    if not path.exists():
        from kura_sklearn.embedding import OnnxEmbedder

        texts = (banking77_texts(20000, "train") or []) + (
            banking77_texts(20000, "test") or []
        )
        if len(texts) < n:
            from _common import synthetic_texts

            texts += synthetic_texts(n - len(texts))
        CACHE.mkdir(exist_ok=True)
        np.save(path, OnnxEmbedder().transform(texts[:n]))
    return path


def quality(X, Y, k=10, sample=2000, seed=0):
    import numpy as np
    from sklearn.manifold import trustworthiness
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.RandomState(seed)
    idx = rng.choice(len(X), min(sample, len(X)), replace=False)
    Xs, Ys = X[idx], Y[idx]
    trust = trustworthiness(Xs, Ys, n_neighbors=k, metric="cosine")
    high = NearestNeighbors(n_neighbors=k + 1, metric="cosine").fit(Xs)
    low = NearestNeighbors(n_neighbors=k + 1).fit(Ys)
    a = high.kneighbors(return_distance=False)
    b = low.kneighbors(return_distance=False)
    kept = np.mean([len(set(r) & set(s)) / k for r, s in zip(a, b)])
    return float(trust), float(kept)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument(
        "--methods", nargs="+", default=["umap", "tsne", "pca"], help="MapProjector"
    )
    args = parser.parse_args()
    import numpy as np

    print(f"{machine()}; load average {os.getloadavg()[0]:.1f}; {today()}")
    print("| n | method | wall s (new process) | trustworthiness | 10-NN kept |")
    print("| --- | --- | --- | --- | --- |")
    for n in args.sizes:
        path = embeddings(n)
        X = np.load(path)
        for method in args.methods:
            out = CACHE / f"map_{method}_{n}.npy"
            result = subprocess.run(
                [sys.executable, "-c", CHILD, str(path), method, str(out)],
                capture_output=True,
                text=True,
                check=True,
            )
            info = json.loads(result.stdout.strip().splitlines()[-1])
            trust, kept = quality(X, np.load(out))
            print(
                f"| {n:,} | {method} ({info['method_']}) | {info['seconds']:.1f} "
                f"| {trust:.3f} | {kept:.3f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
