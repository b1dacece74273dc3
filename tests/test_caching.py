"""The two cache layers: Pipeline(memory=...) and the per-item content cache.

Every effect is proven with the loopback server's request counters.
"""

import logging
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import diskcache
import joblib
import numpy as np
import pytest
from _loopback import on_server
from _openai_server import TEST_KEY_ENV
from numpy.testing import assert_allclose, assert_array_equal

from kura_sklearn import (
    Conversation,
    ConversationSummarizer,
    OpenAIEmbedder,
    SentenceTransformerEmbedder,
    make_kura_pipeline,
)
from kura_sklearn.caching import (
    DirectoryStore,
    RedisStore,
    UnreadableEntry,
    cached_map,
    decode_value,
    encode_value,
    item_key,
    open_cache,
    open_store,
)

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
        cache_dir=str(cache_dir), **on_server(server, **settings)
    )


def embedder(server, cache_dir, **params):
    return OpenAIEmbedder(
        model="e",
        dimensions=32,
        batch_size=8,
        cache_dir=str(cache_dir),
        **on_server(server, **params),
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
        summarizer(fake_llm, tmp_path, max_retries=0, on_error="raise").transform(convs)
    fake_llm.reset()
    summarizer(fake_llm, tmp_path).transform(convs)
    assert fake_llm.stats()["chat_completions"] == 1


_CHILD = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, {tests!r})
    os.environ[{env!r}] = "sk-child"
    from test_caching import conversations
    from kura_sklearn import ConversationSummarizer
    from kura_sklearn.llm import LLMSettings
    llm = LLMSettings(base_url={url!r}, api_key_env={env!r},
                      max_concurrency=2, max_retries=0)
    est = ConversationSummarizer(model="test-model", llm=llm, cache_dir={cache!r})
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
        summarizer(fake_llm, tmp_path, max_tokens=3, on_error="raise").transform(convs)
    assert fake_llm.stats()["cut_at_max_tokens"] == 8  # 4 items x (1 + 1 retry)
    fake_llm.reset()
    summarizer(fake_llm, tmp_path, max_tokens=4000).transform(convs)
    assert fake_llm.stats()["chat_completions"] == 4
    assert fake_llm.stats()["cut_at_max_tokens"] == 0


# --- the cache holds data, never code ----------------------------------------


class _RunsACommand:
    """A pickle that creates ``path`` when loaded: what an attacker plants."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def _plant(directory, kind, marker, outside):
    """Replace every entry of the cache in ``directory`` by one of ``kind``."""
    raw = diskcache.Cache(str(directory))  # diskcache's default, pickling Disk
    keys = list(raw)
    assert keys
    for key in keys:
        if kind == "pickle row":
            raw.set(key, _RunsACommand(marker))
        elif kind == "pickle file":
            big = [_RunsACommand(marker)] + ["x" * 1000] * 100  # > min_file_size
            raw._disk.min_file_size = 0
            raw.set(key, big)
        elif kind == "garbage bytes":
            raw.set(key, b"\x80\x04garbage")
        elif kind == "text":
            raw.set(key, "not bytes at all")
        elif kind == "wrong schema":
            raw.set(key, encode_value({"unrelated": [1, 2]}))
        elif kind == "file outside":
            raw.set(key, b"")
    raw.close()
    if kind == "file outside":
        # rows that name a file outside the cache: read nothing, delete nothing
        with sqlite3.connect(str(Path(directory) / "cache.db")) as db:
            db.execute(
                "UPDATE Cache SET mode = 2, value = NULL, filename = ?",
                (os.path.relpath(outside, directory),),
            )
    return len(keys)


@pytest.mark.parametrize(
    "kind",
    [
        "pickle row",
        "pickle file",
        "garbage bytes",
        "text",
        "wrong schema",
        "file outside",
    ],
)
def test_planted_cache_entries_run_nothing_and_are_recomputed(
    fake_llm, tmp_path, caplog, kind
):
    # Issue 12, item 3: an entry replaced by a pickle that runs a command ran
    # it on the next run, and a corrupt entry crashed it. Now nothing is
    # unpickled, and every unreadable entry is recomputed, counted and logged.
    cache, marker = tmp_path / "cache", tmp_path / "PWNED"
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me")
    convs = conversations(4)
    expected = summarizer(fake_llm, cache).transform(convs)
    n = _plant(cache, kind, marker, outside)
    fake_llm.reset()
    before = open_store(cache).n_unreadable
    with caplog.at_level(logging.WARNING, logger="kura_sklearn.caching"):
        got = summarizer(fake_llm, cache).transform(convs)
    assert not marker.exists()
    assert outside.read_text() == "keep me"
    assert_array_equal(got, expected)
    assert fake_llm.stats()["chat_completions"] == n == 4
    assert open_store(cache).n_unreadable - before == n
    assert f"{n} unreadable entries" in caplog.text
    # the recomputed entries were stored again, as data
    fake_llm.reset()
    summarizer(fake_llm, cache).transform(convs)
    assert fake_llm.stats()["chat_completions"] == 0


@pytest.mark.parametrize(
    "planted",
    [
        b"garbage",
        encode_value(np.zeros(7, dtype=np.float32)),  # the wrong size
        encode_value(np.zeros(32, dtype=np.int64)),  # the wrong type
        encode_value([0.0] * 32),  # a list, not an array
    ],
)
def test_unreadable_embeddings_are_recomputed(fake_llm, tmp_path, planted):
    texts = [f"text {_tag(i)}" for i in range(5)]
    expected = embedder(fake_llm, tmp_path).transform(texts)
    store = open_store(tmp_path)
    for text in texts:
        identity = embedder(fake_llm, tmp_path)._cache_identity()
        key = item_key("embedding", text=text, **identity)
        assert store.get(key) is not None
        store.set(key, planted)
    fake_llm.reset()
    assert_allclose(embedder(fake_llm, tmp_path).transform(texts), expected)
    assert fake_llm.stats()["embedded_inputs"] == 5


def test_embeddings_are_stored_as_raw_float32(fake_llm, tmp_path):
    # compact: 32 float32 values take 128 bytes plus a short header
    embedder(fake_llm, tmp_path).transform(["one text"])
    store = open_store(tmp_path)
    (key,) = list(diskcache.Cache(str(tmp_path)))
    data = store.get(key)
    assert len(data) < 128 + 48
    vector = decode_value(data)
    assert vector.dtype == np.float32 and vector.shape == (32,)


def test_a_cache_of_the_pickling_format_is_ignored_with_a_warning(fake_llm, tmp_path):
    # A directory written by the first format (pickled dicts, keys of format
    # 1): never read, one warning naming it, items recomputed.
    old = diskcache.Cache(str(tmp_path))
    old.set("0" * 64, {"summary": "old"})
    old.set("1" * 64, _RunsACommand(tmp_path / "PWNED"))
    old.close()
    convs = conversations(3)
    with pytest.warns(UserWarning, match="2 entries written by an older"):
        summarizer(fake_llm, tmp_path).transform(convs)
    assert fake_llm.stats()["chat_completions"] == 3
    assert not (tmp_path / "PWNED").exists()
    assert (tmp_path / "kura_sklearn_cache.json").exists()


def test_codec_round_trips_data_and_refuses_the_rest():
    for value in [
        {"summary": "héllo \ud83d cut", "n": 3, "ok": True, "x": None, "l": [1.5]},
        "text",
        [],
    ]:
        assert decode_value(encode_value(value)) == value
    for array in [
        np.arange(384, dtype=np.float32),
        np.ones((2, 3), dtype=np.int64),
        np.zeros(0, dtype=np.float64),
    ]:
        got = decode_value(encode_value(array))
        assert got.dtype == array.dtype
        assert_array_equal(got, array)
    with pytest.raises(TypeError):
        encode_value(np.array(["a"], dtype=object))
    with pytest.raises(TypeError):
        encode_value({"a": object()})
    for data in [
        b"",
        pickle.dumps({"a": 1}),
        b"KSJ1{not json",
        b"KSA1\x05\x00{bad}",
        encode_value(np.arange(4, dtype=np.float32))[:-1],  # truncated
        encode_value(np.arange(4))[:6] + b'{"dtype":"|O8","shape":[1]}' + bytes(8),
        "a str",
    ]:
        with pytest.raises(UnreadableEntry):
            decode_value(data)


def test_cached_map_recomputes_what_check_refuses(tmp_path):
    calls = []

    def compute(indices, on_result):
        calls.extend(indices)
        for j, i in enumerate(indices):
            on_result(j, {"v": i})

    keys = ["a", "b", "a"]
    values, n = cached_map(tmp_path, keys, compute)
    assert values == [{"v": 0}, {"v": 1}, {"v": 0}] and n == 2
    calls.clear()
    values, n = cached_map(tmp_path, keys, compute, check=lambda i, v: None)
    assert n == 0 and calls == []

    def refuse_b(i, v):
        if keys[i] == "b":
            raise ValueError("stale")

    values, n = cached_map(tmp_path, keys, compute, check=refuse_b)
    assert n == 1 and calls == [1]


def test_stores_are_chosen_by_cache_dir_and_pickle_as_settings(tmp_path):
    store = open_store(str(tmp_path))
    assert isinstance(store, DirectoryStore) and open_store(tmp_path) is store
    store.set("k", b"v")
    clone = pickle.loads(pickle.dumps(store))
    assert clone.directory == store.directory and clone.get("k") == b"v"
    remote = open_store("redis://127.0.0.1:1/0")  # nothing listens: no connection yet
    assert isinstance(remote, RedisStore)
    assert pickle.loads(pickle.dumps(remote)).url == remote.url
    assert open_store(None) is None
    with pytest.raises(ValueError, match="Unknown cache URL scheme 's3'"):
        open_store("s3://bucket/cache")


def test_a_password_in_a_cache_url_is_refused_without_echo():
    with pytest.raises(ValueError, match="password_env") as info:
        open_store("redis://:hunter2-secret@127.0.0.1:1/0").get("k")
    assert "hunter2" not in str(info.value)


def test_estimators_with_a_redis_url_clone_and_pickle_unconnected():
    from sklearn.base import clone

    est = ConversationSummarizer(model="m", cache_dir="redis://127.0.0.1:1/3")
    assert clone(est).get_params()["cache_dir"] == "redis://127.0.0.1:1/3"
    assert b"Redis(" not in pickle.dumps(est)


# --- the Redis store ------------------------------------------------------------


def test_redis_store_serves_summaries_and_embeddings(fake_llm, redis_url):
    from sklearn.base import clone

    convs = conversations(6)
    est = summarizer(fake_llm, redis_url)
    summaries = est.transform(convs)
    # used, the estimator still holds only the URL: no connection inside
    assert b"Redis(" not in pickle.dumps(est) and b"Connection" not in pickle.dumps(est)
    assert clone(est).get_params() == est.get_params()
    vectors = embedder(fake_llm, redis_url).transform(list(summaries))
    assert len(open_store(redis_url)) == 12
    fake_llm.reset()
    assert_array_equal(summarizer(fake_llm, redis_url).transform(convs), summaries)
    assert_allclose(embedder(fake_llm, redis_url).transform(list(summaries)), vectors)
    stats = fake_llm.stats()
    assert stats["chat_completions"] == 0 and stats["embedded_inputs"] == 0


def test_redis_store_recomputes_planted_entries(fake_llm, redis_url, tmp_path):
    import redis

    convs = conversations(3)
    expected = summarizer(fake_llm, redis_url).transform(convs)
    client = redis.Redis.from_url(redis_url)
    marker = tmp_path / "PWNED"
    for key in client.keys("kura_sklearn:*"):
        client.set(key, pickle.dumps(_RunsACommand(marker)))
    fake_llm.reset()
    assert_array_equal(summarizer(fake_llm, redis_url).transform(convs), expected)
    assert fake_llm.stats()["chat_completions"] == 3
    assert not marker.exists()


def test_two_processes_share_one_redis_store(fake_llm, redis_url):
    fake_llm.configure(latency=0.02)
    children = [_child(fake_llm, redis_url, 30), _child(fake_llm, redis_url, 30)]
    for child in children:
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err.decode()[-2000:]
    assert len(open_store(redis_url)) == 30
    fake_llm.reset()
    summarizer(fake_llm, redis_url).transform(conversations(30))
    assert fake_llm.stats()["chat_completions"] == 0


def test_cli_run_with_a_redis_cache_dir_reruns_without_calls(
    fake_llm, redis_url, tmp_path
):
    # `kura-sklearn run --cache-dir redis://...` keeps the URL (no local
    # directory named "redis:"), and a second run elsewhere makes no call.
    from kura_sklearn.cli import main

    data = tmp_path / "chats.jsonl"
    data.write_text(
        "\n".join(c.model_dump_json() for c in conversations(24)) + "\n",
        encoding="utf-8",
    )
    llm = ["--model", "test-model", "--base-url", fake_llm.base_url]
    llm += ["--api-key-env", TEST_KEY_ENV, "--max-clusters", "3", "-q"]
    cache = ["--cache-dir", redis_url]
    assert main(["run", str(data), "--out", str(tmp_path / "a"), *cache, *llm]) == 0
    assert fake_llm.stats()["chat_completions"] >= 24
    assert len(open_store(redis_url)) >= 24
    fake_llm.reset()
    assert main(["run", str(data), "--out", str(tmp_path / "b"), *cache, *llm]) == 0
    assert fake_llm.stats()["chat_completions"] == 0
    assert not list(tmp_path.glob("**/redis:*"))
