"""How much one run of bench_insight tells: the SGD measures at several seeds.

Fits the offline pipeline on the same 3,000 single-domain SGD dialogues as
``bench_insight.py`` (same item cache) once per seed and prints, per seed, the
largest root's share, the NMIs and the name retrieval of the names and of the
medoid baseline, at the base and at the top, then their means.

Run: python benchmarks/bench_insight_seeds.py [--seeds 0 1 2 3]
"""

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_insight  # noqa: E402

FIELDS = [
    "largest_root_share",
    "base_nmi",
    "root_nmi",
    "base_name_hit_rate",
    "base_medoid_hit_rate",
    "root_name_hit_rate",
    "root_medoid_hit_rate",
]


def main():
    from kura_sklearn import make_kura_pipeline
    from kura_sklearn.metrics import score_tree

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--n-sgd", type=int, default=3000)
    args = parser.parse_args()
    corpus = bench_insight.load_sgd(args.n_sgd, seed=0)
    if corpus is None:
        sys.exit("needs ../shared/data/sgd beside the repository")
    rows = []
    print("| seed | " + " | ".join(FIELDS) + " |")
    for seed in args.seeds:
        pipe = make_kura_pipeline(
            cache_dir=HERE / ".cache" / "insight", random_state=seed
        ).fit(corpus["conversations"])
        report = score_tree(
            pipe, fine_labels=corpus["fine"], coarse_labels=corpus["coarse"]
        ).as_dict()
        rows.append([100 * report[f] for f in FIELDS])
        print(f"| {seed} | " + " | ".join(f"{v:.1f}" for v in rows[-1]) + " |")
    print("| mean | " + " | ".join(f"{v:.1f}" for v in np.mean(rows, axis=0)) + " |")


if __name__ == "__main__":
    main()
