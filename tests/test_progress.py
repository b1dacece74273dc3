"""Progress bars and stage log lines: silent at verbose=0, logged above it.

Bars are drawn only on an interactive standard error; one test runs a child
process on a real pseudo-terminal to see them. LLM stages run against the
loopback OpenAI-compatible server (tests/_openai_server.py).
"""

import io
import logging
import os
import re
import select
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
from _loopback import on_server
from sklearn.decomposition import PCA

from kura_sklearn import (
    Conversation,
    ConversationClusterer,
    ConversationSummarizer,
    KMeansClusterer,
    OpenAIEmbedder,
    SentenceTransformerEmbedder,
    load_sample_conversations,
    make_kura_pipeline,
)
from kura_sklearn.llm import LLMSettings
from kura_sklearn.naming import KeywordNamer, LLMNamer
from kura_sklearn.utils import _progress
from kura_sklearn.utils._progress import progress

N_SAMPLE = 40  # conversations of the sample used by the pipeline tests
N_TTY = 100  # conversations summarised and embedded on the pseudo-terminal


def conversations(n, prefix="c"):
    topics = ["sourdough bread", "python lists", "tax returns", "guitar chords"]
    return [
        Conversation(
            chat_id=f"{prefix}-{i}",
            messages=[
                {
                    "role": "user",
                    "content": f"Help me with {topics[i % 4]}, question {i}.",
                },
                {"role": "assistant", "content": "Sure, here is how."},
            ],
        )
        for i in range(n)
    ]


def kura_messages(caplog):
    return [r.getMessage() for r in caplog.records if r.name.startswith("kura_sklearn")]


def assert_no_bar(err):
    assert "\r" not in err and "%|" not in err, err


# --- the helper -------------------------------------------------------------


def test_verbose_0_is_a_no_op(caplog):
    caplog.set_level(logging.DEBUG)
    with progress(3, "Counting", 0, logger=logging.getLogger("kura_sklearn.t")) as bar:
        bar.update(3)
    assert caplog.records == []


def test_updates_from_many_threads_are_all_counted(monkeypatch):
    # LLM answers arrive on the background event-loop thread: updates lock.
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setattr(_progress, "_stderr_is_interactive", lambda: True)
    with progress(8000, "Counting", 1, unit="thing") as bar:
        threads = [
            threading.Thread(target=lambda: [bar.update() for _ in range(1000)])
            for _ in range(8)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert bar.n == 8000
    drawn = stream.getvalue()
    assert "8000/8000" in drawn and "thing/s" in drawn


def test_a_failed_stage_logs_where_it_stopped(caplog):
    caplog.set_level(logging.INFO, logger="kura_sklearn")
    log = logging.getLogger("kura_sklearn.t")
    with pytest.raises(RuntimeError):
        with progress(10, "Counting", 1, noun="thing", logger=log) as bar:
            bar.update(4)
            raise RuntimeError("boom")
    assert kura_messages(caplog) == [
        "Counting 10 things",
        "Counting stopped after 4 of 10 things (RuntimeError)",
    ]


def test_importing_the_package_and_the_helper_loads_no_tqdm():
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, kura_sklearn, kura_sklearn.utils._progress; "
            "print('tqdm' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"


# --- verbose=0: nothing on stderr -------------------------------------------


def test_verbose_0_writes_nothing(capfd, caplog):
    caplog.set_level(logging.INFO, logger="kura_sklearn")
    convs = load_sample_conversations()[:N_SAMPLE]
    summaries = ConversationSummarizer().fit_transform(convs)
    SentenceTransformerEmbedder().fit_transform(list(summaries))
    make_kura_pipeline(max_clusters=1).fit(convs)
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
    assert kura_messages(caplog) == []


# --- verbose=1 off a terminal: log lines, no bar ----------------------------


def test_verbose_1_off_a_terminal_logs_every_stage_without_a_bar(capfd, caplog):
    caplog.set_level(logging.INFO, logger="kura_sklearn")
    pipe = make_kura_pipeline(max_clusters=1, verbose=1)
    pipe.fit(load_sample_conversations()[:N_SAMPLE])
    _, err = capfd.readouterr()
    assert_no_bar(err)
    messages = kura_messages(caplog)
    n = N_SAMPLE
    for expected in [
        f"Summarising {n} conversations",
        f"Embedding {n} texts",
        f"Clustering {n} summaries with KMeansClusterer",
        "Naming 4 clusters",
        f"Projecting {n} embeddings to 2-D with MapProjector",
    ]:
        assert expected in messages
    for pattern in [
        rf"Summarised {n} conversations in [\d.]+ s \([\d.]+/s\)",
        rf"Embedded {n} texts in [\d.]+ s",
        r"Found 4 clusters \(0 noise points\) in [\d.]+ s",
        r"Named 4 clusters in [\d.]+ s",
        r"Projected in [\d.]+ s",
    ]:
        assert any(re.match(pattern, m) for m in messages), (pattern, messages)
    # one start and one end line per hierarchy level
    levels = max(c.level for c in pipe[-1].clusters_)
    assert levels >= 1
    for level in range(1, levels + 1):
        starts = [m for m in messages if m.startswith(f"Level {level}: merging")]
        ends = [m for m in messages if re.match(rf"Level {level}: \d+ clusters", m)]
        assert len(starts) == len(ends) == 1
    assert not any(m.startswith(f"Level {levels + 1}:") for m in messages)


def test_make_kura_pipeline_gives_verbose_to_every_part():
    params = make_kura_pipeline(verbose=2).get_params()
    for name in [
        "summarize__verbose",
        "cluster__verbose",
        "cluster__embedder__verbose",
        "cluster__namer__verbose",
    ]:
        assert params[name] == 2
    llm = make_kura_pipeline("m", verbose=1).get_params()
    assert isinstance(llm["cluster__namer"], LLMNamer)
    assert llm["cluster__namer__verbose"] == 1


def test_clusterer_raises_the_verbose_of_its_clones_only():
    namer, embedder = KeywordNamer(), SentenceTransformerEmbedder()
    model = ConversationClusterer(
        embedder,
        KMeansClusterer(n_clusters=2),
        namer=namer,
        max_clusters=1,
        verbose=1,
    ).fit(["reset my password", "forgot password", "bake bread", "bread recipe"])
    assert model.namer_.verbose == model.embedder_.verbose == 1
    assert namer.verbose == embedder.verbose == 0  # the objects passed in


# --- verbose=1 on a terminal: the bar ---------------------------------------

_CHILD = textwrap.dedent(
    f"""
    import sys
    from kura_sklearn import (
        Conversation, ConversationSummarizer, SentenceTransformerEmbedder,
        load_sample_conversations, make_kura_pipeline)

    # verbose=0 on a terminal, in a fresh process (so the embedding model is
    # loaded here): a whole offline fit writes nothing
    make_kura_pipeline().fit(load_sample_conversations()[:{N_SAMPLE}])
    sys.stderr.write("VERBOSE-0-DONE\\n")
    sys.stderr.flush()

    convs = [
        Conversation(chat_id=str(i), messages=[
            {{"role": "user", "content": f"How do I cook dish {{i}} tonight?"}}])
        for i in range({N_TTY})
    ]
    summaries = ConversationSummarizer(verbose=1).fit_transform(convs)
    SentenceTransformerEmbedder(verbose=1).fit_transform(list(summaries))
    """
)


def run_on_a_pseudo_terminal(code):
    """Run ``python -c code`` with stderr on a new pseudo-terminal; its output."""
    import pty

    master, slave = pty.openpty()
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=slave,
        )
    finally:
        os.close(slave)
    chunks = []
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed its end
                break
            if not data:
                break
            chunks.append(data)
        else:
            child.kill()
    finally:
        os.close(master)
        child.wait(timeout=60)
    assert child.returncode == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode("utf-8", errors="replace")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_verbose_1_on_a_terminal_draws_bars_with_count_rate_and_eta():
    output = run_on_a_pseudo_terminal(_CHILD)
    silent, marker, drawn = output.partition("VERBOSE-0-DONE")
    # verbose=0 draws nothing, even on a terminal and while loading the model
    assert marker and silent == "", output
    done = f"{N_TTY}/{N_TTY}"
    assert re.search(rf"Summarising: +100%\|.*\| {done} ", drawn), drawn
    assert re.search(rf"Embedding: +100%\|.*\| {done} ", drawn), drawn
    assert "conv/s" in drawn and "text/s" in drawn
    # [elapsed<remaining, rate]
    assert re.search(r"\[\d\d:\d\d<\d\d:\d\d, ", drawn), drawn
    assert "Loading weights" not in drawn


# --- LLM stages against the loopback server ---------------------------------


def llm_summarizer(server, **params):
    params.setdefault("max_retries", 1)
    return ConversationSummarizer(model="test-model", **on_server(server, **params))


def api_embedder(server, **params):
    return OpenAIEmbedder(
        model="e", dimensions=32, batch_size=8, **on_server(server, **params)
    )


def llm_namer(server, **params):
    return LLMNamer("m", **on_server(server, **params))


def test_llm_summarizer_logs_its_stage_and_returns_the_same_answers(
    fake_llm, capfd, caplog
):
    caplog.set_level(logging.INFO, logger="kura_sklearn")
    convs = conversations(20)
    quiet = llm_summarizer(fake_llm).transform(convs)
    assert kura_messages(caplog) == []
    loud = llm_summarizer(fake_llm, verbose=1).transform(convs)
    np.testing.assert_array_equal(loud, quiet)
    messages = kura_messages(caplog)
    assert messages[0] == "Summarising 20 conversations"
    assert re.fullmatch(r"Summarised 20 conversations in [\d.]+ s.*", messages[-1])
    assert fake_llm.stats()["chat_completions"] == 40
    assert_no_bar(capfd.readouterr().err)


def test_changing_verbose_hits_the_per_item_cache(fake_llm, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="kura_sklearn")
    cache = str(tmp_path / "cache")
    convs = conversations(12)

    first = llm_summarizer(fake_llm, cache_dir=cache).transform(convs)
    embedded = api_embedder(fake_llm, cache_dir=cache).transform(list(first))
    calls = fake_llm.stats()["chat_completions"]
    embeds = fake_llm.stats()["embedding_requests"]
    assert calls == 12 and embeds >= 1

    again = llm_summarizer(fake_llm, cache_dir=cache, verbose=1).transform(convs)
    re_embedded = api_embedder(fake_llm, cache_dir=cache, verbose=1).transform(
        list(again)
    )
    np.testing.assert_array_equal(again, first)
    np.testing.assert_allclose(re_embedded, embedded)
    stats = fake_llm.stats()
    assert (stats["chat_completions"], stats["embedding_requests"]) == (calls, embeds)
    # cached items count as done
    messages = kura_messages(caplog)
    assert any(m.startswith("Summarised 12 conversations") for m in messages)
    assert any(m.startswith("Embedded 12 texts") for m in messages)

    # the identities behind the keys ignore verbose: an LLM answer's comes
    # from the model and the LLMSettings alone, which have no verbose
    assert "verbose" not in LLMSettings().get_params()
    assert (
        api_embedder(fake_llm, verbose=0)._cache_identity()
        == api_embedder(fake_llm, verbose=3)._cache_identity()
    )
    local = SentenceTransformerEmbedder(verbose=0)._cache_identity()
    assert local == SentenceTransformerEmbedder(verbose=1)._cache_identity()


def test_llm_naming_and_merge_rounds_log_and_use_the_cache(fake_llm, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="kura_sklearn")
    # the fake model proposes names from the clusters it is shown and matches
    # clusters to categories by shared words (answered at random, the
    # proposals collapse into one name or "None of these" leaves too many
    # roots, and the level falls back to the offline merge, with a warning)
    fake_llm.configure(match_words=True, choice_tag=["cluster", "name"])
    rng = np.random.RandomState(0)
    words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet".split()
    texts = [" ".join(rng.choice(words, 4)) for _ in range(80)]

    def fit(verbose):
        return ConversationClusterer(
            api_embedder(fake_llm),
            KMeansClusterer(n_clusters=12),
            namer=llm_namer(fake_llm, cache_dir=str(tmp_path), neighbourhood_size=6),
            projector=PCA(2),
            max_clusters=3,
            random_state=0,
            verbose=verbose,
        ).fit(texts)

    quiet = fit(0)
    assert kura_messages(caplog) == []
    calls = fake_llm.stats()["chat_completions"]
    loud = fit(1)
    assert fake_llm.stats()["chat_completions"] == calls  # all from the cache
    assert [c.name for c in loud.clusters_] == [c.name for c in quiet.clusters_]
    messages = kura_messages(caplog)
    assert "Naming 12 clusters" in messages
    assert any(m.startswith("Named 12 clusters in") for m in messages)
    levels = max(c.level for c in loud.clusters_)
    merges = [m for m in messages if m.startswith("Merging ")]
    merged = [m for m in messages if m.startswith("Merged ")]
    assert len(merges) == len(merged) == levels >= 1
    assert merges[0].startswith("Merging 12 clusters in 2 neighbourhoods")
    for level in range(1, levels + 1):
        assert any(m.startswith(f"Level {level}: merging") for m in messages)
