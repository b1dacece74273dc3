"""Import time of kura_sklearn, against ``pass`` and ``import sklearn`` in the same run.

Each command runs in a fresh interpreter (``python -c ...``), round-robin so
that drift in the machine's load hits every command alike; the table gives
the best and the median wall time of ``--repeats`` runs. Measured:

- ``pass``: interpreter start-up, the floor;
- ``import sklearn``: the baseline of any scikit-learn package;
- ``import kura_sklearn``: goal under 1 s (Kura 0.5.4: 16 s, its issue #142);
- ``make_kura_pipeline()``: time to the first usable estimator;
- the first embedding (``SentenceTransformerEmbedder().transform(["hi"])``),
  which pays for torch and the model, with ``--repeats-heavy`` runs;
- in Kura 0.5.4's own environment, when ``benchmarks/.venv-kura`` (made by
  bench_vs_kura.py) exists: ``import kura`` (lazy since 0.5, which fixed its
  issue #142) and the imports of its procedural API as bench_vs_kura.py
  makes them, Kura's time to a usable pipeline. Those need an
  ``OPENAI_API_KEY`` even offline (``kura.dimensionality`` builds an OpenAI
  client at import): a dummy one is set for that command only.

Then ``python -X importtime`` splits the import time of ``import
kura_sklearn`` and of ``make_kura_pipeline()`` by top-level package (self
times summed; modules the bare interpreter imports too are left out).
``-X importtime`` slows imports down, so its total exceeds the wall times.

Run: python benchmarks/bench_import.py [--repeats 10] [--repeats-heavy 3]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import ROOT, machine, today

COMMANDS = [
    ("pass", "pass"),
    ("import sklearn", "import sklearn"),
    ("import kura_sklearn", "import kura_sklearn"),
    (
        "make_kura_pipeline()",
        "from kura_sklearn import make_kura_pipeline; make_kura_pipeline()",
    ),
]
FIRST_EMBEDDING = (
    "first embedding",
    "from kura_sklearn import SentenceTransformerEmbedder; "
    "SentenceTransformerEmbedder().transform(['hi'])",
)
KURA_VENV = ROOT / "benchmarks" / ".venv-kura" / "bin" / "python"
KURA_API = (
    "from kura.cluster import ClusterDescriptionModel, KmeansClusteringModel; "
    "from kura.dimensionality import HDBUMAP; "
    "from kura.embedding import SentenceTransformerEmbeddingModel; "
    "from kura.meta_cluster import MetaClusterModel; "
    "from kura.summarisation import SummaryModel; "
    "from kura.types import Conversation"
)


def _env(**extra):
    env = dict(os.environ, HF_HUB_OFFLINE="1", **extra)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    if "OPENAI_API_KEY" not in extra:
        env.pop("OPENAI_API_KEY", None)
    return env


def run_once(code, python=sys.executable, env=None):
    start = time.perf_counter()
    subprocess.run(
        [python, "-c", code],
        check=True,
        env=env or _env(),
        cwd=ROOT,
        capture_output=True,
    )
    return time.perf_counter() - start


def measure(commands, repeats):
    """Round-robin: every command once per round, ``repeats`` rounds."""
    times = {name: [] for name, *_ in commands}
    for _ in range(repeats):
        for name, code, python, env in commands:
            times[name].append(run_once(code, python, env))
    return times


def importtime_rows(code):
    """(cumulative us, self us, nesting, module) per line of -X importtime."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        check=True,
        env=_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stderr
    rows = []
    for line in out.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cumulative_us, name = line.split("|")
        # -X importtime indents a module by two spaces per level of nesting
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        self_us = int(self_us.split(":")[-1])
        rows.append((int(cumulative_us), self_us, depth, name.strip()))
    return rows


def importtime_by_package(code, top):
    """Self import time summed per top-level package, largest first.

    Modules that the bare interpreter imports too (``pass``) are left out.
    """
    startup = {name for *_, name in importtime_rows("pass")}
    totals, counts = {}, {}
    for _, self_us, _, name in importtime_rows(code):
        if name in startup:
            continue
        package = name.split(".")[0]
        totals[package] = totals.get(package, 0) + self_us
        counts[package] = counts.get(package, 0) + 1
    ranked = sorted(totals.items(), key=lambda item: -item[1])
    return [(package, us, counts[package]) for package, us in ranked[:top]], sum(
        totals.values()
    )


def load():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--repeats-heavy", type=int, default=3)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument(
        "--kura-python",
        type=Path,
        default=KURA_VENV,
        help="interpreter of Kura's environment (skipped when absent)",
    )
    args = parser.parse_args()

    print(f"{machine()}; {today()}; load average before: {load()}")
    light = [(name, code, sys.executable, None) for name, code in COMMANDS]
    # one untimed round: warm the OS file cache for every command
    measure(light, 1)
    times = measure(light, args.repeats)

    heavy = [(*FIRST_EMBEDDING, sys.executable, None)]
    if args.kura_python.exists():
        kura = str(args.kura_python)
        dummy_key = _env(OPENAI_API_KEY="sk-dummy-for-import")
        heavy += [
            ("Kura 0.5.4: import kura", "import kura", kura, None),
            ("Kura 0.5.4: its pipeline's imports", KURA_API, kura, dummy_key),
        ]
    measure(heavy, 1)
    times.update(measure(heavy, args.repeats_heavy))

    print(f"load average after: {load()}")
    floor = statistics.median(times["pass"])
    sklearn = statistics.median(times["import sklearn"])
    goals = {"import kura_sklearn": "< 1 s"}
    print()
    print("| command | runs | best (s) | median (s) | median - pass (s) | goal |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, values in times.items():
        med = statistics.median(values)
        print(
            f"| `{name}` | {len(values)} | {min(values):.3f} | {med:.3f} | "
            f"{med - floor:.3f} | {goals.get(name, '')} |"
        )
    ours = statistics.median(times["import kura_sklearn"])
    first = statistics.median(times["make_kura_pipeline()"])
    print()
    print(
        f"import kura_sklearn / import sklearn (medians): {ours / sklearn:.3f}; "
        f"make_kura_pipeline() / import sklearn: {first / sklearn:.3f}"
    )
    if "Kura 0.5.4: import kura" in times:
        kura = statistics.median(times["Kura 0.5.4: import kura"])
        api = statistics.median(times["Kura 0.5.4: its pipeline's imports"])
        print(
            f"import kura / import kura_sklearn: {kura / ours:.2f}; Kura's pipeline "
            f"imports / make_kura_pipeline(): {api / first:.2f} (medians)"
        )
    print(f"goal import kura_sklearn < 1 s: {'met' if ours < 1 else 'MISSED'}")

    for _name, code in COMMANDS[2:]:
        rows, total = importtime_by_package(code, args.top)
        print()
        print(
            f"python -X importtime -c {code!r}: {total / 1000:.0f} ms of imports "
            "beyond the bare interpreter's; self time by top-level package"
        )
        print("| package | modules | self time (ms) | share |")
        print("| --- | --- | --- | --- |")
        for package, us, n_modules in rows:
            print(f"| `{package}` | {n_modules} | {us / 1000:.1f} | {us / total:.0%} |")


if __name__ == "__main__":
    main()
