"""A new user's first minutes: the README's install, its main job, a predict.

In a fresh venv (no system packages): the README's first install command
(``pip install -e .``), timed; the venv's size on disk (with the bytecode pip
compiles, and without it); whether torch or any NVIDIA package came with it;
then, each in a new process, the main job on the bundled 300 conversations
(offline, ``HF_HUB_OFFLINE=1``), the same job again with every item cached,
and ``kura-sklearn predict`` on 20 new conversations (synthetic, none of them
cached).

Run: python benchmarks/bench_install.py [--repeats 3] [--venv DIR] [--keep]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _common import machine, today  # noqa: E402

SAMPLE = ROOT / "kura_sklearn" / "datasets" / "data" / "sample_conversations.jsonl"


def du_mb(path, exclude_pyc=False):
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            if exclude_pyc and name.endswith(".pyc"):
                continue
            p = os.path.join(dirpath, name)
            if not os.path.islink(p):
                total += os.path.getsize(p)
    return total / 1e6


def timed(cmd, env, cwd):
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=None)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kura-install-"))
    venv = args.venv or work / "venv"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(HF_HUB_OFFLINE="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    empty = du_mb(venv)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    install = timed(["pip", "install", "--quiet", "-e", "."], env, ROOT)
    size, size_no_pyc = du_mb(venv), du_mb(venv, exclude_pyc=True)
    listed = subprocess.run(
        ["pip", "list", "--format", "json"], env=env, capture_output=True, text=True
    )
    names = [p["name"].lower() for p in json.loads(listed.stdout)]
    heavy = [n for n in names if n in ("torch", "sentence-transformers")]
    heavy += [n for n in names if n.startswith("nvidia")]

    # each run in a new process and a new output directory (nothing cached);
    # the machine is shared, so the best and the median of --repeats
    runs = []
    for i in range(args.repeats):
        run = ["kura-sklearn", "run", str(SAMPLE), "--out", str(work / f"r{i}")]
        runs.append(timed(run, env, work))
    out = work / "r0"
    cached = timed(["kura-sklearn", "run", str(SAMPLE), "--out", str(out)], env, work)
    from make_synthetic import make_conversations

    predicts = []
    for i in range(args.repeats):  # other new conversations each time
        new = work / f"new{i}.jsonl"
        with open(new, "w", encoding="utf-8") as f:
            for c in make_conversations(20, seed=100 + i):
                f.write(json.dumps(c) + "\n")
        predict = ["kura-sklearn", "predict", str(out), str(new), "--out", "-"]
        predicts.append(timed(predict, env, work))
    print(f"{machine()}; load average {os.getloadavg()[0]:.1f}; {today()}")
    print(f"README install `pip install -e .`: {install:.0f} s")
    print(
        f"venv size: {size:.0f} MB ({size_no_pyc:.0f} MB without .pyc; the empty "
        f"venv {empty:.0f} MB); torch/NVIDIA packages: {heavy or 'none'}"
    )
    print(
        "main job, 300 sample conversations, new process: best "
        f"{min(runs):.1f} s, median {statistics.median(runs):.1f} s wall "
        f"({', '.join(f'{t:.1f}' for t in runs)})"
    )
    print(f"same job again, every item cached: {cached:.1f} s wall")
    print(
        f"predict, 20 new conversations: best {min(predicts):.1f} s, median "
        f"{statistics.median(predicts):.1f} s wall "
        f"({', '.join(f'{t:.1f}' for t in predicts)})"
    )
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
