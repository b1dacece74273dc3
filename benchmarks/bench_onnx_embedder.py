"""The torch-free default embedder (OnnxEmbedder) against sentence-transformers.

Both embed the same 3,080 BANKING77 test queries in one process: the mean
cosine similarity between the two vectors of each text, K-means NMI against
the 77 true intents (at the true k, the same seeds for both, mean over seeds),
and throughput (median of alternating runs). Ratios are ONNX over torch.

Goals (issue 16): mean cosine >= 0.995, NMI within 0.5 points, throughput
ratio >= 1.

Run: python benchmarks/bench_onnx_embedder.py [--repeats 3] [--seeds 5]
     [--model-path DIR]   # another export, e.g. an fp32 one for comparison
Needs sentence-transformers (the ``local`` extra) for the baseline.
"""

import argparse
import csv
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from _common import SHARED_BANKING77, machine, today  # noqa: E402


def load_test():
    with open(SHARED_BANKING77 / "test.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [r["category"] for r in rows]


def nmi(X, labels, k, seeds):
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score

    scores = [
        normalized_mutual_info_score(
            labels, KMeans(k, n_init=1, random_state=s).fit_predict(X)
        )
        for s in range(seeds)
    ]
    return float(np.mean(scores)), float(np.std(scores))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--model-path", default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    args = parser.parse_args()

    from kura_sklearn.embedding import OnnxEmbedder, SentenceTransformerEmbedder

    texts, labels = load_test()
    k = len(set(labels))
    onnx_params = {"model_path": args.model_path}
    if args.batch_size:
        onnx_params["batch_size"] = args.batch_size
    onnx = OnnxEmbedder(**onnx_params)
    torch = SentenceTransformerEmbedder(device="cpu")

    # load both models and warm up before any clock starts
    onnx.transform(texts[:64])
    torch.transform(texts[:64])

    times = {"onnx": [], "torch": []}
    out = {}
    for i in range(args.repeats):  # ABBA order, so drift hits both alike
        pair = [("onnx", onnx), ("torch", torch)]
        for name, embedder in pair if i % 2 == 0 else pair[::-1]:
            start = time.perf_counter()
            out[name] = embedder.transform(texts)
            times[name].append(time.perf_counter() - start)
    n = len(texts)
    rate = {name: n / statistics.median(t) for name, t in times.items()}
    cosine = (out["onnx"] * out["torch"]).sum(axis=1)
    nmi_onnx, sd_onnx = nmi(out["onnx"], labels, k, args.seeds)
    nmi_torch, sd_torch = nmi(out["torch"], labels, k, args.seeds)

    print(
        f"texts: {n} BANKING77 test queries, {k} intents; model "
        f"{args.model_path or 'bundled int8'}; batch_size={onnx.batch_size} "
        f"(onnx) / {torch.batch_size} (torch); {machine()}; "
        f"load average {os.getloadavg()[0]:.1f}; {today()}"
    )
    print(
        f"cosine onnx vs torch: mean {cosine.mean():.4f}, min {cosine.min():.4f}, "
        f"5th percentile {np.percentile(cosine, 5):.4f} (goal: mean >= 0.995)"
    )
    print(
        f"K-means NMI at k={k} (mean of {args.seeds} seeds): onnx "
        f"{nmi_onnx:.4f} (sd {sd_onnx:.4f}), torch {nmi_torch:.4f} "
        f"(sd {sd_torch:.4f}); difference {100 * (nmi_onnx - nmi_torch):+.2f} "
        "points (goal: within 0.5)"
    )
    print(
        f"throughput: onnx {rate['onnx']:.0f} texts/s, torch {rate['torch']:.0f} "
        f"texts/s; ratio onnx/torch {rate['onnx'] / rate['torch']:.2f} (goal >= 1)"
    )


if __name__ == "__main__":
    main()
