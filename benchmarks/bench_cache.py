"""Per-item cache speed and size: the old pickling format vs the data-only one.

Writes then reads ``--n`` items one at a time, as the estimators do, into a
fresh directory each repeat (median of ``--repeats``):

- embeddings (384 float32): old = raw ``tobytes()`` through diskcache's
  default Disk; new = the codec's array layout through ``DirectoryStore``
  (and the whole ``cached_map`` path the embedders take, with its checks);
- summaries (a facet dict): old = diskcache's pickle; new = JSON;
- the same through ``RedisStore`` against a local redis-server, when one is
  installed (reads batched with MGET, as ``cached_map`` does).

Run: python benchmarks/bench_cache.py [--n 10000] [--repeats 3]
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np
from _common import ROOT, machine, today


def _summary(i):
    return {
        "summary": f"The user asks for help planning a budget for a trip number {i}.",
        "request": "The user's overall request for the assistant is to plan a budget.",
        "task": "The task is to plan a travel budget.",
        "languages": ["english"],
        "programming_languages": [],
        "concerning_score": 1,
        "user_frustration": 2,
        "assistant_errors": [],
    }


def _medians(runs):
    return [None if None in r else statistics.median(r) for r in zip(*runs)]


def _size(path):
    return sum(
        os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs
    )


def _old_store(directory):
    import diskcache

    return diskcache.Cache(directory, size_limit=2**40, eviction_policy="none")


def _new_store(directory):
    from kura_sklearn.caching import DirectoryStore

    return DirectoryStore(directory)


def _measure(make, keys, values, encode, decode, batched=False):
    """(set seconds, get seconds, bytes on disk or None) for one fresh store."""
    directory = tempfile.mkdtemp(prefix="kura-bench-cache-")
    try:
        store = make(directory)
        start = time.perf_counter()
        for key, value in zip(keys, values):
            store.set(key, encode(value))
        t_set = time.perf_counter() - start
        start = time.perf_counter()
        if batched:
            got = [decode(b) for b in store.get_many(keys)]
        else:
            got = [decode(store.get(key)) for key in keys]
        t_get = time.perf_counter() - start
        assert len(got) == len(keys)
        size = None if batched else _size(directory)
        return t_set, t_get, size
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _through_cached_map(keys, vectors):
    from kura_sklearn.caching import cached_map

    directory = tempfile.mkdtemp(prefix="kura-bench-cache-")
    try:

        def compute(indices, on_result):
            for j, i in enumerate(indices):
                on_result(j, vectors[i])

        def check(vector):
            if vector.dtype != np.float32 or vector.shape != (384,):
                raise ValueError
            return vector

        start = time.perf_counter()
        cached_map(directory, keys, compute, decode=check)
        t_set = time.perf_counter() - start
        start = time.perf_counter()
        got, n = cached_map(directory, keys, compute, decode=check)
        t_get = time.perf_counter() - start
        assert n == 0 and len(got) == len(keys)
        return t_set, t_get, _size(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import pickle

    from kura_sklearn.caching import decode_value, encode_value, item_key

    rng = np.random.default_rng(0)
    vectors = list(rng.normal(size=(args.n, 384)).astype(np.float32))
    summaries = [_summary(i) for i in range(args.n)]
    keys = [item_key("bench", i=i) for i in range(args.n)]

    def raw(v):
        return v.tobytes()

    def from_raw(b):
        return np.frombuffer(b, dtype=np.float32)

    def same(x):
        return x

    cases = [
        ("embeddings", "old: raw bytes, diskcache", _old_store, vectors, raw, from_raw),
        ("embeddings", "new: array layout, DirectoryStore", _new_store, vectors,
         encode_value, decode_value),
        ("summaries", "old: pickle, diskcache", _old_store, summaries, same, same),
        ("summaries", "new: JSON, DirectoryStore", _new_store, summaries,
         encode_value, decode_value),
    ]  # fmt: skip
    rows = []
    for kind, label, make, values, enc, dec in cases:
        runs = [_measure(make, keys, values, enc, dec) for _ in range(args.repeats)]
        rows.append((kind, label, *_medians(runs)))
    runs = [_through_cached_map(keys, vectors) for _ in range(args.repeats)]
    rows.append(
        ("embeddings", "new: cached_map (the embedders' path)",
         *_medians(runs))
    )  # fmt: skip
    # sanity: the old summary store really pickles, the new one never does
    assert pickle.loads(pickle.dumps(summaries[0])) == decode_value(
        encode_value(summaries[0])
    )

    redis = _redis_rows(args, keys, vectors, summaries)
    rows.extend(redis)

    print(f"# bench_cache, {today()}, {machine()}, n={args.n}, median of "
          f"{args.repeats}")  # fmt: skip
    print("| values | store | set (s) | get (s) | per item set / get (us) | MB |")
    print("| --- | --- | --- | --- | --- | --- |")
    for kind, label, t_set, t_get, size in rows:
        mb = "-" if size is None else f"{size / 1e6:.1f}"
        print(
            f"| {kind} | {label} | {t_set:.2f} | {t_get:.2f} | "
            f"{1e6 * t_set / args.n:.0f} / {1e6 * t_get / args.n:.0f} | {mb} |"
        )
    for kind in ("embeddings", "summaries"):
        old = next(r for r in rows if r[0] == kind and r[1].startswith("old"))
        new = next(r for r in rows if r[0] == kind and "DirectoryStore" in r[1])
        print(
            f"{kind}: new/old set {new[2] / old[2]:.2f}, get {new[3] / old[3]:.2f}"
            + ("" if old[4] is None else f", size {new[4] / old[4]:.2f}")
        )


def _redis_rows(args, keys, vectors, summaries):
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        import redis  # noqa: F401
        from _redis_server import RedisServer
    except ImportError:
        return []
    server = RedisServer()
    if server.executable is None:
        return []
    from kura_sklearn.caching import RedisStore, decode_value, encode_value

    server.start()
    try:
        rows = []
        for kind, values in (("embeddings", vectors), ("summaries", summaries)):

            def make(_, url=server.url):
                server.flush()
                return RedisStore(url)

            runs = [
                _measure(make, keys, values, encode_value, decode_value, batched=True)
                for _ in range(args.repeats)
            ]
            rows.append(
                (kind, "new: RedisStore (loopback)",
                 *_medians(runs))
            )  # fmt: skip
        return rows
    finally:
        server.stop()


if __name__ == "__main__":
    main()
