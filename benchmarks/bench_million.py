"""A million conversations on one 2-core machine: cluster, name, build the tree.

Goal: peak memory below 8 GB (Kura's own estimate for 1M conversations is
hundreds of GB, everything held in memory). The summaries are precomputed
(synthetic requests, see ``make_synthetic.py``) and so are their
embeddings, in a float32 ``.npy`` memmap on disk; the clusterer reads them
through a :class:`~kura_sklearn.embedding.PrecomputedEmbedder`, so the
matrix is never copied into the heap.

First build the store (embeds ``--n-base`` distinct requests for real and
writes each of the n rows as one of them plus noise; see
``make_synthetic.write_embedding_store``)::

    python benchmarks/make_synthetic.py --n 1000000 --out benchmarks/.cache/million

then::

    python benchmarks/bench_million.py --store benchmarks/.cache/million
        [--map pca|umap] [--map-fit-samples 50000] [--tables]

Stages (wall, CPU, peak RSS through ``VmHWM`` reset at each stage start):
texts (regenerate the 1M summaries), keys (content keys of the store),
then ``ConversationClusterer.fit``'s own stages: lookup, cluster
(``KMeansTreeClusterer``, Kura's k = n / 10), name (``KeywordNamer``),
hierarchy, map (``MapProjector`` fitted on a sample, the rest placed in
blocks), tree (the ``Cluster`` records), and optionally the tables.
"""

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import machine, today  # noqa: E402
from bench_scaling import STAGE_ORDER, StageTracker, _status  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=str(HERE / ".cache" / "million"))
    parser.add_argument("--limit", type=int, default=None, help="first N rows only")
    parser.add_argument("--map", choices=["pca", "umap"], default="pca")
    parser.add_argument("--map-fit-samples", type=int, default=50000)
    parser.add_argument("--max-clusters", type=int, default=10)
    parser.add_argument(
        "--max-levels",
        type=int,
        default=5,
        help="meta levels allowed (ConversationClusterer's default: 5)",
    )
    parser.add_argument("--tables", action="store_true")
    parser.add_argument("--json", help="write the raw results here")
    args = parser.parse_args()

    import numpy as np
    from make_synthetic import store_texts

    from kura_sklearn import ConversationClusterer
    from kura_sklearn.cluster import KMeansTreeClusterer
    from kura_sklearn.embedding import PrecomputedEmbedder, save_embedding_store
    from kura_sklearn.naming import KeywordNamer
    from kura_sklearn.projection import MapProjector

    store = Path(args.store)
    meta = json.loads((store / "meta.json").read_text())
    load = [os.getloadavg()[0]]
    tracker = StageTracker(rename={"embed": "lookup"}).attach()
    started = time.perf_counter()

    tracker.start("texts")
    texts = store_texts(store, args.limit)
    tracker.start("keys")
    if args.limit:  # a store of the first rows only, keys and vectors
        sub = store.parent / f"{store.name}-first-{args.limit}"
        full = np.load(store / "embeddings.npy", mmap_mode="r")
        save_embedding_store(sub, texts, full[: args.limit])
        store = sub
    else:
        save_embedding_store(store, texts)
    tracker.stop()

    model = ConversationClusterer(
        embedder=PrecomputedEmbedder(store),
        clusterer=KMeansTreeClusterer(clusters_per_group=10),
        namer=KeywordNamer(),
        projector=MapProjector(
            method=args.map, max_fit_samples=args.map_fit_samples, random_state=0
        ),
        max_clusters=args.max_clusters,
        max_levels=args.max_levels,
        random_state=0,
    )
    model.fit(texts)
    if args.tables:
        from kura_sklearn.report import clusters_table, conversations_table

        tracker.start("tables")
        conversations_table(model)
        clusters_table(model)
        tracker.stop()
    total = time.perf_counter() - started
    load.append(os.getloadavg()[0])
    # VmHWM (and so ru_maxrss) is reset at each stage start: the process's
    # peak is the largest stage peak
    max_rss = max(
        [s["peak_mb"] for s in tracker.stages.values()]
        + [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024]
    )
    levels = max(c.level for c in model.clusters_)
    per_level = [
        sum(c.level == lv for c in model.clusters_) for lv in range(levels + 1)
    ]

    n = len(texts)
    print(f"# bench_million: {machine()}; {today()}")
    print(f"command: python benchmarks/bench_million.py {' '.join(sys.argv[1:])}")
    print(
        f"store: {n:,} x {meta['dim']} float32 rows ({n * meta['dim'] * 4 / 1e9:.2f} "
        f"GB on disk), {meta['n_base']:,} base requests embedded for real "
        f"({meta['base_embed_seconds']} s), noise {meta['noise']}; store written "
        f"in {meta['write_seconds']} s"
    )
    print("\n| stage | wall s | CPU s | RSS at start, MB | peak RSS, MB |")
    print("|---|---|---|---|---|")
    order = ["texts", "keys", *STAGE_ORDER]
    for stage in sorted(tracker.stages, key=order.index):
        s = tracker.stages[stage]
        print(
            f"| {stage} | {s['wall']:.1f} | {s['cpu']:.1f} | {s['start_mb']:.0f} | "
            f"{s['peak_mb']:.0f} |"
        )
    print(f"| **total** | {total:.1f} | | | **{max_rss:.0f}** (largest stage peak) |")
    print(
        f"\n{model.n_clusters_:,} base clusters; clusters per level {per_level}; "
        f"map {model.projector_.method_} fitted on {args.map_fit_samples:,}; "
        f"clusterer depth {model.clusterer_.depth_}, {model.clusterer_.n_leaves_:,} "
        f"leaves; {len(set(texts)):,} distinct texts; "
        f"RSS at the end {_status('VmRSS'):.0f} MB "
        f"(file-backed {_status('RssFile'):.0f} MB, anonymous "
        f"{_status('RssAnon'):.0f} MB); load average {load[0]:.1f} -> {load[1]:.1f}"
    )
    print(f"peak memory goal < 8 GB: {'met' if max_rss < 8192 else 'MISSED'}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "n": n,
                    "stages": tracker.stages,
                    "total": total,
                    "max_rss_mb": max_rss,
                    "per_level": per_level,
                    "distinct_texts": len(set(texts)),
                    "load": load,
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
