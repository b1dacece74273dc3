"""Human-language detection: lingua-language-detector against py3langid.

Texts: ``benchmarks/_language_texts.py`` (written for this project: 21
languages; greetings and filler turns, one-line requests, longer requests,
and text mixed with code, names, URLs or a quoted phrase in another
language) and the user turns of the bundled sample
(``kura_sklearn/datasets/data/sample_conversations.jsonl``, whose metadata
names each conversation's language; 300 conversations, 8 languages).

Each configuration runs in a process of its own, so that its import and
load time and its memory (resident set growth over a bare interpreter,
after detecting every text) are its own:

- lingua (``lingua-language-detector``), high-accuracy mode, over the
  languages ``kura_sklearn`` detects (``LANGUAGES`` in
  ``kura_sklearn/summarization/_language.py``) and over all 75;
- lingua in low-accuracy mode (trigrams only), all 75 languages;
- py3langid (a NumPy port of langid.py), over the same language set and
  over all of its languages.

Each answer is the most likely language if its confidence (lingua's
relative confidence, py3langid's normalised probability) reaches
``--threshold``, else no language. Scores: correct, no answer, wrong, per
kind of text; for greetings, "no answer" is acceptable and "wrong" is what
counts. The detector ``kura_sklearn`` ships is run too (row "kura_sklearn").

Run: python benchmarks/bench_languages.py [--threshold 0.5]
"""

import argparse
import json
import subprocess
import sys
import time
from collections import defaultdict

from _common import ROOT, machine, today
from _language_texts import TEXTS

# lingua's names where they differ from kura_sklearn's.
LINGUA_NAMES = {"norwegian": "BOKMAL", "slovenian": "SLOVENE"}
SWEEP = [0.0, 0.3, 0.5, 0.7, 0.9]
CONFIGS = [
    "kura_sklearn",
    "lingua-set-high",
    "lingua-all-high",
    "lingua-all-low",
    "py3langid-set",
    "py3langid-all",
]


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1e6


def sample_texts():
    """User text and labelled language of each bundled sample conversation."""
    path = ROOT / "kura_sklearn" / "datasets" / "data" / "sample_conversations.jsonl"
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            text = "\n".join(
                m["content"] for m in record["messages"] if m["role"] == "user"
            )
            out.append((text, record["metadata"]["language"], "sample"))
    return out


def run_one(config, texts):
    """Rank languages for every text with one configuration; print JSON."""
    from kura_sklearn.summarization._language import LANGUAGES

    base = rss_mb()  # after importing kura_sklearn, which every row needs
    start = time.perf_counter()
    if config == "kura_sklearn":
        from kura_sklearn.summarization._language import (
            _language_identifier,
            detect_human_languages,
        )

        _language_identifier()
        rank = lambda text: [(lang, 1.0) for lang in detect_human_languages(text)]  # noqa: E731
    elif config.startswith("lingua"):
        from lingua import Language, LanguageDetectorBuilder

        names = {v: k for k, v in LINGUA_NAMES.items()}

        if "-set-" in config:
            builder = LanguageDetectorBuilder.from_languages(
                *(
                    getattr(Language, LINGUA_NAMES.get(name, name.upper()))
                    for name in LANGUAGES.values()
                )
            )
        else:
            builder = LanguageDetectorBuilder.from_all_languages()
        if config.endswith("-low"):
            builder = builder.with_low_accuracy_mode()
        detector = builder.with_preloaded_language_models().build()

        def rank(text):
            values = detector.compute_language_confidence_values(text)
            return [
                (names.get(v.language.name, v.language.name.lower()), v.value)
                for v in values[:3]
            ]

    else:
        import py3langid.langid as langid

        identifier = langid.LanguageIdentifier.from_model_file(
            langid.MODEL_FILE, norm_probs=True
        )
        if config.endswith("-set"):
            identifier.set_languages(list(LANGUAGES))

        def rank(text):
            return [
                (LANGUAGES.get(code, code), float(p))
                for code, p in identifier.rank(text)[:3]
            ]

    load = time.perf_counter() - start
    start = time.perf_counter()
    ranks = [rank(text) for text, _, _ in texts]
    detect = time.perf_counter() - start
    print(
        json.dumps(
            {
                "load_s": load,
                "detect_ms": 1000 * detect / len(texts),
                "memory_mb": rss_mb() - base,
                "ranks": ranks,
            }
        )
    )


def score(ranks, texts, threshold):
    """Counts of correct / none / wrong answers per kind of text."""
    counts = defaultdict(lambda: [0, 0, 0])
    for rank, (_, expected, kind) in zip(ranks, texts):
        answer = rank[0][0] if rank and rank[0][1] >= threshold else None
        slot = 1 if answer is None else (0 if answer == expected else 2)
        counts[kind][slot] += 1
    return counts


def sweep_row(config, ranks, texts, thresholds):
    """Wrong and correct shares of the written texts at each threshold."""
    cells = []
    for threshold in thresholds:
        c = score(ranks, texts, threshold)
        n = sum(sum(v) for v in c.values())
        right = sum(v[0] for v in c.values())
        wrong = sum(v[2] for v in c.values())
        cells.append(f"{100 * right / n:.0f}% / {100 * wrong / n:.0f}%")
    return f"| {config} | " + " | ".join(cells) + " |"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    texts = TEXTS + sample_texts()
    if args.one:
        run_one(args.one, texts)
        return

    kinds = ["greeting", "short", "long", "mixed", "sample"]
    n_of = {k: sum(1 for t in texts if t[2] == k) for k in kinds}
    print(f"{machine()}, {today()}; threshold {args.threshold}")
    print(
        f"texts: {len(TEXTS)} written ("
        + ", ".join(f"{n_of[k]} {k}" for k in kinds[:-1])
        + f"), {n_of['sample']} sample conversations"
    )
    header = (
        "| detector | greetings wrong / none | short correct | long correct "
        "| mixed correct | sample correct / wrong | load s | ms / text | memory MB |"
    )
    print(header)
    print("|" + " --- |" * 9)
    sweep = []
    for config in CONFIGS:
        out = subprocess.run(
            [sys.executable, __file__, "--one", config],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        threshold = 0.0 if config == "kura_sklearn" else args.threshold
        c = score(result["ranks"], texts, threshold)

        def pct(kind, slot, c=c):
            return f"{100 * c[kind][slot] / n_of[kind]:.0f}%"

        print(
            f"| {config} | {pct('greeting', 2)} / {pct('greeting', 1)} "
            f"| {pct('short', 0)} | {pct('long', 0)} | {pct('mixed', 0)} "
            f"| {pct('sample', 0)} / {pct('sample', 2)} "
            f"| {result['load_s']:.2f} | {result['detect_ms']:.2f} "
            f"| {result['memory_mb']:.0f} |"
        )
        wrong = [
            f"{text[:40]!r}: {rank[0][0] if rank else None}"
            for rank, (text, expected, kind) in zip(result["ranks"], texts)
            if kind != "sample"
            and rank
            and rank[0][1] >= threshold
            and rank[0][0] != expected
        ]
        if wrong:
            print(f"|   wrong: {'; '.join(wrong)[:400]} |")
        if config != "kura_sklearn":
            sweep.append(sweep_row(config, result["ranks"], TEXTS, SWEEP))

    print("\nWritten texts, correct / wrong, by the least confidence naming a language")
    print("| detector | " + " | ".join(f">= {t}" for t in SWEEP) + " |")
    print("|" + " --- |" * (len(SWEEP) + 1))
    print("\n".join(sweep))


if __name__ == "__main__":
    main()
