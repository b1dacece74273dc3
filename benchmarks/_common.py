"""Helpers shared by the benchmarks: test texts, timing, the results file."""

import csv
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED_BANKING77 = ROOT.parent / "shared" / "data" / "banking77"


def banking77_texts(n, split="train"):
    """First ``n`` BANKING77 queries (CC BY 4.0, Casanueva et al. 2020).

    Read from ``../shared`` beside the repository; benchmarks only. Returns
    None when that folder is absent (a user's clone).
    """
    path = SHARED_BANKING77 / f"{split}.csv"
    if not path.exists():
        return None
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [row["text"] for row in rows[:n]]


def synthetic_texts(n, seed=0):
    """Varied short requests made from templates, when no real text is at hand."""
    import random

    rng = random.Random(seed)
    verbs = [
        "explain",
        "fix",
        "write",
        "translate",
        "summarise",
        "compare",
        "plan",
        "debug",
        "optimise",
        "review",
    ]
    things = [
        "a python function",
        "my cover letter",
        "a SQL query",
        "a recipe for dinner",
        "a workout schedule",
        "this email to my landlord",
        "a poem about autumn",
        "the causes of inflation",
        "a React component",
        "my travel itinerary for Lisbon",
    ]
    extras = [
        "quickly",
        "in simple words",
        "with examples",
        "step by step",
        "for a beginner",
        "in French",
        "politely",
        "in under 100 words",
    ]
    return [
        f"Please {rng.choice(verbs)} {rng.choice(things)} {rng.choice(extras)} "
        f"(request {i})"
        for i in range(n)
    ]


def best_of(func, repeats):
    """Median wall time of ``repeats`` calls of ``func``, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def machine():
    import os

    python = platform.python_version()
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {python}"


def today():
    return date.today().isoformat()


def start_fake_server(latency=0.0, *options):
    """The tests' OpenAI-compatible server in a process of its own.

    ``options`` are more of its command-line flags (``--choice-tag TAG``).
    Returns the process (``terminate()`` it when done) and its base URL.
    """
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tests" / "_openai_server.py"),
            "--port",
            "0",
            "--latency",
            str(latency),
            *options,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    base_url = process.stdout.readline().strip()
    if not base_url.startswith("http://127.0.0.1"):
        process.kill()
        raise RuntimeError("the fake server did not start")
    return process, base_url
