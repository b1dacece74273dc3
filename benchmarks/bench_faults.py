"""LLM summaries under faults: 30% mixed faults vs a fault-free run, same settings.

The bundled sample's 300 conversations are summarised by
``ConversationSummarizer`` through the real ``openai`` client against the
tests' OpenAI-compatible server (a process of its own, ``--latency`` seconds
per answer), once with no faults and once with ``--fault-rate`` of the
requests failing at random with every transient kind: 429, 500, a time-out,
a status-200 body cut off mid-JSON, invalid JSON content. Everything else is
the default (``max_retries=8``, ``max_concurrency=8``,
``on_error="fallback"``) except the client ``timeout``, shortened to 1 s so
that a "timeout" fault (the server sleeps 2 s) is a real client time-out
without a 60 s wait. No cache: every run makes all its calls.

Printed per run (median wall time of ``--repeats``): requests, retries,
failures and fallbacks (from ``track_llm_usage``), the faults the server
injected, and the faulty run's wall time as a ratio of the fault-free one
measured in the same process.

Run: python benchmarks/bench_faults.py [--latency 0.05] [--fault-rate 0.3] [--repeats 3]
"""

import argparse
import json
import statistics
import time
import urllib.request

from _common import machine, start_fake_server, today

KINDS = ["429", "500", "timeout", "truncated_body", "malformed_json"]


def control(base_url, path, settings=None):
    """POST to the server's control endpoint (or GET its stats)."""
    root = base_url[: -len("/v1")]
    if settings is None:
        with urllib.request.urlopen(root + path, timeout=10) as response:
            return json.loads(response.read())
    request = urllib.request.Request(
        root + path,
        data=json.dumps(settings).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def one_run(base_url, convs, latency, fault_rate, seed):
    from kura_sklearn import ConversationSummarizer
    from kura_sklearn.llm import LLMSettings, track_llm_usage

    control(base_url, "/_control/reset", {})
    control(
        base_url,
        "/_control/config",
        {
            "latency": latency,
            "fault_rate": fault_rate,
            "fault_kinds": KINDS,
            "timeout_seconds": 2.0,
            "seed": seed,
        },
    )
    llm = LLMSettings(base_url=base_url, api_key_env="KURA_BENCH_KEY", timeout=1.0)
    summarizer = ConversationSummarizer("fake-chat-model", llm=llm)
    summarizer.set_output(transform="pandas")
    start = time.perf_counter()
    with track_llm_usage() as usage:
        frame = summarizer.transform(convs)
    seconds = time.perf_counter() - start
    stage = usage["summarize"]
    stats = control(base_url, "/_control/stats")
    return {
        "seconds": seconds,
        "by_llm": int((frame["summary_source"] == "llm").sum()),
        "faults": sum(stats["faults"].values()),
        **{k: stage[k] for k in ("requests", "retries", "failures", "fallbacks")},
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--fault-rate", type=float, default=0.3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from kura_sklearn import load_sample_conversations

    convs = load_sample_conversations()
    process, base_url = start_fake_server(args.latency)
    try:
        one_run(base_url, convs[:16], args.latency, 0.0, 0)  # warm up the client
        runs = {"fault-free": [], f"{args.fault_rate:.0%} faults": []}
        for repeat in range(args.repeats):
            runs["fault-free"].append(
                one_run(base_url, convs, args.latency, 0.0, repeat)
            )
            runs[f"{args.fault_rate:.0%} faults"].append(
                one_run(base_url, convs, args.latency, args.fault_rate, repeat)
            )
    finally:
        process.terminate()

    print(
        f"# {len(convs)} conversations, latency {args.latency} s, "
        f"max_concurrency 8, max_retries 8 (defaults), client timeout 1 s; "
        f"{today()}, {machine()}"
    )
    print(f"# fault kinds: {', '.join(KINDS)}; median of {args.repeats} runs")
    print(
        "| run | wall time (s) | ratio | requests | retries | faults injected "
        "| failures | fallbacks | summarised by the LLM |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    base = statistics.median(r["seconds"] for r in runs["fault-free"])
    for name, results in runs.items():
        med = {k: statistics.median(r[k] for r in results) for k in results[0]}
        print(
            f"| {name} | {med['seconds']:.2f} | {med['seconds'] / base:.2f} "
            f"| {med['requests']:.0f} | {med['retries']:.0f} | {med['faults']:.0f} "
            f"| {max(r['failures'] for r in results)} "
            f"| {max(r['fallbacks'] for r in results)} "
            f"| {min(r['by_llm'] for r in results)} of {len(convs)} |"
        )


if __name__ == "__main__":
    main()
