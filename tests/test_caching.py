"""The two cache layers: Pipeline(memory=...) and the per-item content cache.

Every effect is proven with the loopback server's request counters.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import joblib
import numpy as np
import pytest
from _openai_server import TEST_KEY_ENV
from numpy.testing import assert_allclose, assert_array_equal

from kura_sklearn import (
    Conversation,
    ConversationSummarizer,
    OpenAIEmbedder,
    SentenceTransformerEmbedder,
    make_kura_pipeline,
)
from kura_sklearn.caching import item_key, open_cache

TESTS = Path(__file__).resolve().parent


def _tag(i):
    # a distinct alphabetic word per conversation (the fake model skips digits)
    return "tag" + "".join(chr(97 + int(d)) for d in str(i))


def conversations(n, start=0, prefix="chat"):
    topics = [
        "mortgage rates",
        "sourdough starter",
        "python typing",
        "tax forms",
        "marathon pacing",
        "french verbs",
        "docker volumes",
        "poetry meter",
    ]
    return [
        Conversation(
            chat_id=f"{prefix}-{i}",
            messages=[
                {
                    "role": "user",
                    "content": f"Question {_tag(i)} about {topics[i % 8]}.",
                },
                {"role": "assistant", "content": "Here is an answer."},
            ],
        )
        for i in range(start, start + n)
    ]


def summarizer(server, cache_dir, **params):
    settings = {"model": "test-model", "max_retries": 1, **params}
    return ConversationSummarizer(
        base_url=server.base_url,
        api_key_env=TEST_KEY_ENV,
        cache_dir=str(cache_dir),
        **settings,
    )


def embedder(server, cache_dir, **params):
    return OpenAIEmbedder(
        model="e",
        base_url=server.base_url,
        api_key_env=TEST_KEY_ENV,
        dimensions=32,
        batch_size=8,
        cache_dir=str(cache_dir),
        **params,
    )


def outputs_under_hash_seeds(code, seeds):
    """What ``python -c code`` prints in fresh processes, one per hash seed."""
    return {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=True,
        ).stdout.strip()
        for seed in seeds
    }


def test_item_keys_are_stable_across_processes():
    # No hash randomisation, object ids or timestamps enter a key.
    code = (
        "from kura_sklearn.caching import item_key; "
        "print(item_key('summary', prompt='p', schema={'a': [1, 2]}, model='m'))"
    )
    keys = outputs_under_hash_seeds(code, ("1", "2"))
    assert keys == {item_key("summary", prompt="p", schema={"a": [1, 2]}, model="m")}


def test_n_plus_10_costs_10_summaries_and_10_embeddings(fake_llm, tmp_path):
    # (a) fitting on N+10 conversations after N costs 10 calls of each kind.
    first, more = conversations(30), conversations(10, start=30)
    summaries = summarizer(fake_llm, tmp_path).transform(first)
    embedder(fake_llm, tmp_path).transform(list(summaries))
    fake_llm.reset()
    summaries = summarizer(fake_llm, tmp_path).transform(first + more)
    embedder(fake_llm, tmp_path).transform(list(summaries))
    stats = fake_llm.stats()
    assert stats["chat_completions"] == 10
    assert stats["embedded_inputs"] == 10


def test_transform_repeats_and_predict_paths_are_served_from_cache(fake_llm, tmp_path):
    # (d) transform (and so predict and scorers, which call it) use the cache.
    convs = conversations(12)
    est = summarizer(fake_llm, tmp_path)
    out = est.transform(convs)
    fake_llm.reset()
    assert_array_equal(est.transform(convs), out)
    assert fake_llm.stats()["requests"] == 0


@pytest.mark.parametrize(
    "change, expect_calls",
    [
        ({"prompt": "Summarise.\n<conversation>{conversation}</conversation>"}, 6),
        ({"model": "other-model"}, 6),
        ({"temperature": 0.7}, 6),
        (
            {"max_chars": 300},
            0,
        ),  # these short conversations are not truncated either way
        (
            {"max_retries": 5, "max_concurrency": 2, "timeout": 30.0},
            0,
        ),  # no effect on answers
        ({"max_tokens": 4000}, 0),  # a cap only cuts; cut answers are never cached
    ],
)
def test_changed_settings_invalidate_exactly_what_they_change(
    fake_llm, tmp_path, change, expect_calls
):
    # (c) a new prompt, model or temperature misses; transport settings hit.
    convs = conversations(6)
    summarizer(fake_llm, tmp_path).transform(convs)
    fake_llm.reset()
    summarizer(fake_llm, tmp_path, **change).transform(convs)
    assert fake_llm.stats()["chat_completions"] == expect_calls


def test_keys_are_content_not_chat_id(fake_llm, tmp_path):
    # Kura's cache gave identical texts another conversation's id. Here a
    # renamed conversation hits, identical texts are summarised once, and each
    # input keeps its own chat_id in the output.
    convs = conversations(4)
    summarizer(fake_llm, tmp_path).transform(convs)
    fake_llm.reset()
    renamed = [
        Conversation(chat_id=f"new-{i}", messages=c.messages)
        for i, c in enumerate(convs)
    ]
    twins = renamed + [Conversation(chat_id="twin", messages=convs[0].messages)]
    frame = (
        summarizer(fake_llm, tmp_path).set_output(transform="pandas").transform(twins)
    )
    assert fake_llm.stats()["chat_completions"] == 0
    assert list(frame.index) == ["new-0", "new-1", "new-2", "new-3", "twin"]
    assert frame.loc["twin", "summary"] == frame.loc["new-0", "summary"]
    fake_llm.reset()
    fresh = [
        Conversation(chat_id=f"x{i}", messages=[{"role": "user", "content": "same"}])
        for i in range(3)
    ]
    summarizer(fake_llm, tmp_path / "other").transform(fresh)
    assert fake_llm.stats()["chat_completions"] == 1


def test_failures_keep_finished_items_in_the_cache(fake_llm, tmp_path):
    # A permanent fault on one conversation: the other answers are stored, so
    # the retry after fixing it costs one call.
    from kura_sklearn.llm import LLMBatchError

    convs = conversations(10)
    fake_llm.configure(permanent_fault_marker=_tag(3) + " ")
    with pytest.raises(LLMBatchError, match="chat-3"):
        summarizer(fake_llm, tmp_path, max_retries=0).transform(convs)
    fake_llm.reset()
    summarizer(fake_llm, tmp_path).transform(convs)
    assert fake_llm.stats()["chat_completions"] == 1


_CHILD = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, {tests!r})
    os.environ[{env!r}] = "sk-child"
    from test_caching import conversations
    from kura_sklearn import ConversationSummarizer
    est = ConversationSummarizer(model="test-model", base_url={url!r},
                                 api_key_env={env!r}, cache_dir={cache!r},
                                 max_concurrency=2, max_retries=0)
    est.transform(conversations({n}, prefix={prefix!r}))
""")


def _child(server, cache_dir, n, prefix="chat"):
    code = _CHILD.format(
        tests=str(TESTS),
        env=TEST_KEY_ENV,
        url=server.base_url,
        cache=str(cache_dir),
        n=n,
        prefix=prefix,
    )
    return subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def test_run_killed_half_way_resumes_with_only_the_unfinished_items(fake_llm, tmp_path):
    # (b) SIGKILL a summarising process half-way; the next run makes calls
    # only for the conversations the killed one had not finished.
    fake_llm.configure(latency=0.15)
    child = _child(fake_llm, tmp_path, 40)
    deadline = time.monotonic() + 60
    # poll the cache itself: the server counts an answer just before the
    # client receives and stores it
    while len(open_cache(tmp_path)) < 12 and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    stored = len(open_cache(tmp_path))
    assert 12 <= stored < 40
    fake_llm.reset()
    out = summarizer(fake_llm, tmp_path).transform(conversations(40))
    assert len(out) == 40
    assert fake_llm.stats()["chat_completions"] == 40 - stored


def test_two_processes_share_one_cache_directory(fake_llm, tmp_path):
    # Concurrent writers: both finish, and every distinct item is stored once.
    fake_llm.configure(latency=0.02)
    children = [_child(fake_llm, tmp_path, 30), _child(fake_llm, tmp_path, 30)]
    for child in children:
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err.decode()[-2000:]
    assert len(open_cache(tmp_path)) == 30
    fake_llm.reset()
    summarizer(fake_llm, tmp_path).transform(conversations(30))
    assert fake_llm.stats()["chat_completions"] == 0


def test_local_embeddings_are_cached_and_identical(tmp_path):
    texts = ["reset my password", "bake bread", "learn japanese"]
    est = SentenceTransformerEmbedder(cache_dir=str(tmp_path))
    first = est.transform(texts)
    assert len(open_cache(tmp_path)) == 3
    assert_allclose(est.transform(texts), first)
    assert_allclose(SentenceTransformerEmbedder().transform(texts), first, atol=1e-6)


def test_pipeline_memory_and_item_cache_make_a_second_fit_free(fake_llm, tmp_path):
    # Layer 1 (Pipeline memory) caches the fitted summarizer step; layer 2 (the
    # item cache) serves the embedder and namer inside the final step. A second
    # fit of the same pipeline on the same conversations makes 0 LLM calls and
    # 0 embedding calls.
    def pipe():
        p = make_kura_pipeline(
            "test-model",
            base_url=fake_llm.base_url,
            api_key_env=TEST_KEY_ENV,
            max_clusters=3,
            memory=joblib.Memory(str(tmp_path / "memory"), verbose=0),
            cache_dir=str(tmp_path / "items"),
            embedder=embedder(fake_llm, tmp_path / "items"),
        )
        return p.set_params(
            cluster__projector=__import__(
                "sklearn.decomposition", fromlist=["PCA"]
            ).PCA(2)
        )

    convs = conversations(40)
    labels = pipe().fit_predict(convs)
    assert fake_llm.stats()["chat_completions"] > 40
    fake_llm.reset()
    again = pipe().fit_predict(convs)
    stats = fake_llm.stats()
    assert stats["chat_completions"] == 0 and stats["embedded_inputs"] == 0
    assert_array_equal(again, labels)


def test_pipeline_memory_alone_skips_the_summarizer_on_refit(fake_llm, tmp_path):
    # Layer 1 by itself: joblib.Memory keys are stable, so the summarizer
    # step is not refitted (no LLM call) when nothing changed.
    from sklearn.decomposition import PCA

    def pipe():
        return make_kura_pipeline(
            "test-model",
            base_url=fake_llm.base_url,
            api_key_env=TEST_KEY_ENV,
            memory=joblib.Memory(str(tmp_path), verbose=0),
            max_clusters=2,
        ).set_params(cluster__projector=PCA(2))

    convs = conversations(20)
    pipe().fit(convs)
    summary_calls = 20
    first_total = fake_llm.stats()["chat_completions"]
    fake_llm.reset()
    pipe().fit(convs)
    # only the final step's naming calls repeat (no item cache here)
    assert fake_llm.stats()["chat_completions"] == first_total - summary_calls
    assert np.isfinite(first_total)


def test_pipeline_memory_keys_are_stable_across_processes():
    # joblib.Memory keys hash the step and its input; with different hash
    # seeds (set and dict order) both hashes come out the same, so layer 1
    # hits in a new process.
    code = (
        "import joblib; from kura_sklearn import load_sample_conversations, "
        "make_kura_pipeline; c = load_sample_conversations()[:20]; "
        "p = make_kura_pipeline('m', cache_dir='/tmp/unused'); "
        "print(joblib.hash(c), joblib.hash(p[0]))"
    )
    hashes = outputs_under_hash_seeds(code, ("1", "7"))
    assert len(hashes) == 1


def test_answers_cut_at_max_tokens_fail_by_name_and_are_not_cached(fake_llm, tmp_path):
    # A cap too small for the answer: every item fails, naming the cap, and
    # nothing is cached, so a rerun with a sound cap computes them all.
    from kura_sklearn.llm import LLMBatchError

    convs = conversations(4)
    with pytest.raises(LLMBatchError, match="cut at max_tokens=3"):
        summarizer(fake_llm, tmp_path, max_tokens=3).transform(convs)
    assert fake_llm.stats()["cut_at_max_tokens"] == 8  # 4 items x (1 + 1 retry)
    fake_llm.reset()
    summarizer(fake_llm, tmp_path, max_tokens=4000).transform(convs)
    assert fake_llm.stats()["chat_completions"] == 4
    assert fake_llm.stats()["cut_at_max_tokens"] == 0
