"""The map stage's share of an offline ``kura-sklearn run``, in a new process.

Writes ``n`` synthetic conversations (``make_synthetic.py``), then runs the
CLI's main job on them in a fresh Python process (the offline defaults:
extractive summaries, the bundled ONNX embedder, K-means by Kura's rule,
phrase names, the hierarchy, the map, the report) and times each stage of
the clusterer from its DEBUG stage log. The share is the map stage over the
whole process's wall time, imports included.

Two states of numba's on-disk cache (the map uses UMAP from 1,000 points):
``cold`` is a process that finds no cache (``NUMBA_CACHE_DIR`` empty), as the
first run after installing; ``warm`` is any later run.

Run: python benchmarks/bench_map_share.py [--sizes 1000 10000] [--states cold warm]
         [--clusterer tree]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import machine, today  # noqa: E402

CHILD = r"""
import json, logging, sys, time
start = time.perf_counter()
marks = []

class Marks(logging.Handler):
    def emit(self, record):
        if hasattr(record, "stage"):
            marks.append((record.stage, time.perf_counter()))

log = logging.getLogger("kura_sklearn.pipeline._clusterer")
log.setLevel(logging.DEBUG)
log.addHandler(Marks())
from kura_sklearn.cli import main
code = main(["run", sys.argv[1], "--out", sys.argv[2], *sys.argv[3:]])
end = time.perf_counter()
stages = {name: t1 - t0 for (name, t0), (_, t1) in zip(marks, marks[1:])}
print(json.dumps({"code": code, "wall": end - start, "stages": stages,
                  "before_embed": marks[0][1] - start if marks else None}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--states", nargs="+", default=["cold", "warm"])
    parser.add_argument(
        "--clusterer", default=None, help="the CLI's --clusterer (tree above 10,000)"
    )
    args = parser.parse_args()
    from make_synthetic import make_conversations

    print(f"{machine()}; load average {os.getloadavg()[0]:.1f}; {today()}")
    print(
        "| n | numba cache | process wall s | before embed s | embed s | cluster s "
        "| name s | hierarchy s | map s | map share |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    warm_cache = tempfile.mkdtemp(prefix="numba-warm-")
    extra = ["--clusterer", args.clusterer] if args.clusterer else []
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "conversations.jsonl"
            with open(path, "w", encoding="utf-8") as f:
                for c in make_conversations(n):
                    f.write(json.dumps(c) + "\n")
            for state in args.states:
                env = dict(os.environ)
                if state == "cold":
                    env["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="numba-cold-")
                else:
                    env["NUMBA_CACHE_DIR"] = warm_cache
                    if not os.listdir(warm_cache):  # one run fills it, untimed
                        _run(path, Path(tmp) / "warmup", env, extra)
                result = _run(path, Path(tmp) / f"out-{state}", env, extra)
                s = result["stages"]
                print(
                    f"| {n:,} | {state} | {result['wall']:.1f} "
                    f"| {result['before_embed']:.1f} | {s['embed']:.1f} "
                    f"| {s['cluster']:.1f} | {s['name']:.1f} | {s['hierarchy']:.1f} "
                    f"| {s['map']:.1f} | {s['map'] / result['wall']:.1%} |",
                    flush=True,
                )


def _run(path, out, env, extra=()):
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(out), *extra],
        capture_output=True,
        text=True,
        env=env,
    )
    if proc.returncode:
        raise RuntimeError(proc.stderr[-2000:])
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["outer"] = time.perf_counter() - start
    return result


if __name__ == "__main__":
    main()
