"""The LLM backend layer against the loopback server, through the real client."""

import os
import pickle

import numpy as np
import pytest
from _loopback import on_server
from _openai_server import TEST_KEY_ENV
from pydantic import BaseModel, Field

from kura_sklearn import ConversationSummarizer, OpenAIEmbedder, make_kura_pipeline
from kura_sklearn.llm import (
    LLMBatchError,
    LLMSettings,
    OpenAIBackend,
    StructuredLLM,
    TextEmbeddingBackend,
    get_client,
    make_backend,
    strict_json_schema,
)
from kura_sklearn.naming import LLMNamer


class Answer(BaseModel):
    title: str
    score: int = Field(ge=1, le=5)
    tags: list[str] = []


def backend(server, **settings):
    settings.setdefault("max_retries", 2)
    return OpenAIBackend(
        model="test-model",
        base_url=server.base_url,
        api_key_env=TEST_KEY_ENV,
        **settings,
    )


def test_backend_implements_both_protocols():
    b = OpenAIBackend(model="m")
    assert isinstance(b, StructuredLLM) and isinstance(b, TextEmbeddingBackend)


def test_provider_prefix_selects_backend_and_strips_prefix():
    assert make_backend("openai/gpt-4o-mini").model == "gpt-4o-mini"
    assert make_backend("llama3.1:8b").model == "llama3.1:8b"
    # names from self-hosted servers keep their slashes after the API's prefix
    name = "openai/meta-llama/Llama-3.1-8B"
    assert make_backend(name).model == "meta-llama/Llama-3.1-8B"
    # a backend given as a value takes the name as it is
    assert make_backend(name, backend=OpenAIBackend).model == name


@pytest.mark.parametrize(
    "build",
    [
        lambda model: make_backend(model),
        lambda model: LLMSettings().make_backend(model),
        lambda model: ConversationSummarizer(model=model).fit([]),
        lambda model: LLMNamer(model).name_clusters(["a"], [0], [[1.0]]),
        lambda model: OpenAIEmbedder(model).transform(["a"]),
    ],
    ids=["make_backend", "LLMSettings", "summarizer", "namer", "embedder"],
)
def test_an_unknown_prefix_is_an_error_naming_the_model_and_the_known_ones(build):
    # Issue 14: an unknown prefix silently went to OpenAI's API, so a typo
    # ("opnai/...") or another provider's name failed late, on the server,
    # or reached the wrong one
    with pytest.raises(ValueError, match="Unknown provider prefix") as info:
        build("opnai/gpt-4o-mini")
    assert "'opnai/gpt-4o-mini'" in str(info.value)
    assert "'openai/'" in str(info.value)  # the known prefixes


def test_strict_schema_closes_every_object_and_requires_every_field():
    schema = strict_json_schema(Answer)
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["title", "score", "tags"]
    assert "default" not in str(schema)


def test_complete_returns_validated_answers_in_order(fake_llm):
    prompts = [
        f"<conversation>topic {w}</conversation>" for w in ("alpha", "bravo", "charlie")
    ]
    seen = []
    result = backend(fake_llm).complete(
        prompts, Answer, ids=["a", "b", "c"], on_result=lambda i, v: seen.append(i)
    )
    assert not result.failures
    assert [type(r) for r in result.results] == [Answer] * 3
    assert "bravo" in result.results[1].title
    assert sorted(seen) == [0, 1, 2]  # each item reported as it finished


def test_invalid_json_is_retried(fake_llm):
    fake_llm.configure(fault_rate=1.0, fault_kinds=("malformed_json",), seed=1)
    result = backend(fake_llm, max_retries=1).complete(
        ["<x>hi</x>"], Answer, ids=["only"]
    )
    assert "does not match Answer" in result.failures["only"]
    assert fake_llm.stats()["faults"]["malformed_json"] == 2  # first try + 1 retry


def test_client_timeout_is_enforced_and_retried(fake_llm):
    fake_llm.configure(fault_rate=1.0, fault_kinds=("timeout",), timeout_seconds=5.0)
    result = backend(fake_llm, timeout=0.3, max_retries=1).complete(
        ["<x>hi</x>"], Answer
    )
    assert "Timeout" in result.failures["0"]


def test_rate_limit_then_success(fake_llm):
    # With a seeded 50% rate of 429s and enough retries, every item succeeds.
    fake_llm.configure(fault_rate=0.5, fault_kinds=("429",), seed=3)
    prompts = [f"<x>item {i}</x>" for i in range(20)]
    result = backend(fake_llm, max_retries=12, max_concurrency=10).complete(
        prompts, Answer
    )
    assert not result.failures
    assert fake_llm.stats()["faults"]["429"] > 0


def test_non_retryable_error_fails_fast(fake_llm, monkeypatch):
    # A 404 (wrong URL or model) is not retried: retrying cannot fix it.
    fake_llm.configure()
    b = OpenAIBackend(
        model="m",
        base_url=fake_llm.base_url.replace("/v1", "/nope"),
        api_key_env=TEST_KEY_ENV,
        max_retries=5,
    )
    result = b.complete(["<x>hi</x>"], Answer)
    assert "NotFound" in result.failures["0"]
    assert fake_llm.stats()["requests"] == 1


def test_raise_for_failures_keeps_successes(fake_llm):
    fake_llm.configure(permanent_fault_marker="BROKEN")
    result = backend(fake_llm, max_retries=0).complete(
        ["<x>fine</x>", "<x>BROKEN</x>", "<x>also fine</x>"],
        Answer,
        ids=["a", "b", "c"],
    )
    with pytest.raises(LLMBatchError, match="'b'") as info:
        result.raise_for_failures("Test")
    assert info.value.results[0] is not None and info.value.results[1] is None


def test_embed_batches_and_reports_failed_texts_by_id(fake_llm):
    texts = [f"text number {i}" for i in range(10)]
    result = backend(fake_llm, batch_size=4, dimensions=16).embed(texts)
    assert len(result.results) == 10 and result.results[0].shape == (16,)
    assert fake_llm.stats()["embedding_requests"] == 3
    fake_llm.reset()
    fake_llm.configure(permanent_fault_marker="number 5")
    result = backend(fake_llm, batch_size=4, max_retries=0).embed(
        texts, ids=[f"t{i}" for i in range(10)]
    )
    assert sorted(result.failures) == ["t4", "t5", "t6", "t7"]  # only batch 2
    assert result.results[0] is not None and result.results[8] is not None


def test_clients_are_cached_per_settings_and_never_pickled(fake_llm):
    a = get_client(fake_llm.base_url, TEST_KEY_ENV, 10.0)
    assert get_client(fake_llm.base_url, TEST_KEY_ENV, 10.0) is a
    assert get_client(fake_llm.base_url, TEST_KEY_ENV, 20.0) is not a
    b = backend(fake_llm)
    b.complete(["<x>hi</x>"], Answer)
    assert b"AsyncOpenAI" not in pickle.dumps(b)
    assert pickle.loads(pickle.dumps(b)) == b


def test_works_when_an_event_loop_is_already_running(fake_llm):
    # Jupyter runs a loop in the main thread; calls must still work there.
    import asyncio

    async def inside_a_loop():
        return backend(fake_llm).complete(["<x>from a notebook</x>"], Answer)

    result = asyncio.run(inside_a_loop())
    assert not result.failures


def test_json_object_mode_sends_the_schema_for_llama_cpp_servers(fake_llm):
    # python -m llama_cpp.server accepts only {"type": "json_object", "schema":
    # ...}; that mode sends it (and the schema in the prompt) and still
    # validates the answer.
    b = backend(fake_llm, structured_output="json_object")
    result = b.complete(["<x>json object mode</x>"], Answer)
    assert not result.failures and isinstance(result.results[0], Answer)
    assert fake_llm.stats()["prompt_chars"] > len("<x>json object mode</x>") + 50
    with pytest.raises(ValueError, match="structured_output"):
        backend(fake_llm, structured_output="xml").complete(["<x>hi</x>"], Answer)


def test_max_tokens_is_sent_and_a_cut_answer_is_reported_as_cut(fake_llm):
    # A generous cap changes nothing; a cap the answer does not fit in makes
    # the server stop mid-JSON (finish_reason "length"), which fails
    # validation, is retried, and is reported naming the cap.
    roomy = backend(fake_llm, max_tokens=500).complete(["<x>roomy cap</x>"], Answer)
    assert not roomy.failures and isinstance(roomy.results[0], Answer)
    assert fake_llm.stats()["cut_at_max_tokens"] == 0
    fake_llm.reset()
    tight = backend(fake_llm, max_tokens=2, max_retries=1).complete(
        ["<x>tight cap</x>"], Answer, ids=["chat-cut"]
    )
    assert tight.results == [None]
    assert "chat-cut" in tight.failures
    assert "cut at max_tokens=2" in tight.failures["chat-cut"]
    stats = fake_llm.stats()
    assert stats["chat_completions"] == stats["cut_at_max_tokens"] == 2  # + 1 retry
    # no cap: the request carries none
    fake_llm.reset()
    assert not backend(fake_llm).complete(["<x>no cap</x>"], Answer).failures
    assert fake_llm.stats()["cut_at_max_tokens"] == 0


# --- issue 12: faults the server could not inject before, and secrets ---------


@pytest.mark.parametrize("kind", ["truncated_body", "dropped_connection"])
def test_broken_answers_are_retried(fake_llm, kind):
    # Item 1: a status-200 body cut off mid-JSON (the SDK raises
    # json.JSONDecodeError) was never retried; a dropped connection is. Every
    # attempt broken: each is retried; half broken: every item succeeds.
    fake_llm.configure(fault_rate=1.0, fault_kinds=(kind,))
    result = backend(fake_llm, max_retries=2).complete(["<x>hi</x>"], Answer)
    assert result.results == [None]
    assert fake_llm.stats()["requests"] == 3 == result.n_requests  # + 2 retries
    assert result.n_retries == 2
    if kind == "truncated_body":
        assert "cut off" in result.failures["0"]
    fake_llm.reset()
    fake_llm.configure(fault_rate=0.5, fault_kinds=(kind,), seed=2)
    prompts = [f"<x>item {i}</x>" for i in range(20)]
    result = backend(fake_llm, max_retries=12).complete(prompts, Answer)
    assert not result.failures and fake_llm.stats()["faults"][kind] > 0


def test_batch_error_pickles_with_its_failures():
    # Item 5: LLMBatchError's __init__ takes four arguments, so the default
    # exception pickling (cls(*args)) failed to rebuild it.
    err = LLMBatchError("Summarisation", {"b": "500"}, ["x", None], ["a", "b"])
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is LLMBatchError and str(back) == str(err)
    assert back.failures == {"b": "500"} and back.results == ["x", None]
    assert back.ids == ["a", "b"] and back.what == "Summarisation"


def test_batch_error_crosses_worker_processes(fake_llm):
    # Item 5: with n_jobs=2 a partial failure reached the parent as
    # BrokenProcessPool, losing which chat_ids failed and why.
    from kura_sklearn import Conversation
    from kura_sklearn.utils import parallel_transform

    convs = [
        Conversation(
            chat_id=f"c{i}",
            messages=[
                {
                    "role": "user",
                    "content": f"topic {i} BROKEN" * (i == 3) or f"topic {i}",
                }
            ],
        )
        for i in range(6)
    ]
    summarizer = ConversationSummarizer(
        "m", on_error="raise", **on_server(fake_llm, max_retries=0)
    )
    fake_llm.configure(permanent_fault_marker="BROKEN")
    with pytest.raises(LLMBatchError, match="'c3'") as info:
        parallel_transform(summarizer, convs, chunk_size=3, n_jobs=2)
    assert list(info.value.failures) == ["c3"]


def test_an_echoed_key_never_reaches_errors_or_logs(fake_llm, caplog):
    # Item 8: a server answering 401 with the key in its message put the key
    # in the failures, the LLMBatchError text and the warning log.
    from conftest import TEST_KEY

    fake_llm.configure(fault_rate=1.0, fault_kinds=("401",))
    result = backend(fake_llm).complete(["<x>hi</x>"], Answer, ids=["only"])
    assert "Incorrect API key" in result.failures["only"]
    with pytest.raises(LLMBatchError) as info:
        result.raise_for_failures("Test")
    shown = [str(info.value), *info.value.failures.values(), caplog.text]
    for text in shown:
        assert TEST_KEY not in text
    assert "[REDACTED]" in result.failures["only"] and "[REDACTED]" in caplog.text
    assert fake_llm.stats()["requests"] == 1  # a refused key is not retried


@pytest.mark.parametrize(
    "value",
    ["sk-proj-Abc123def456ghi789", "sk_live_0123456789", "x8Fq2LmZ0pW9rT4vB7nK"],
)
def test_a_key_given_as_api_key_env_is_refused_without_echo(value):
    # Item 8: a key passed by mistake as the variable's name was printed in
    # the "not set" error.
    b = OpenAIBackend(model="m", api_key_env=value)
    with pytest.raises(ValueError, match="not the key itself") as info:
        b.complete(["<x>hi</x>"], Answer)
    assert value not in str(info.value)


# --- issue 14: one LLM plumbing ---------------------------------------------


def test_a_custom_backend_travels_into_loky_workers_without_registration(fake_llm):
    # Issue 14: a provider registered at run time in a process-wide table was
    # lost inside loky or Dask workers. A backend is now a value of the
    # settings: this class, defined here at run time and registered nowhere,
    # is pickled with the estimator into two worker processes and used there.
    from kura_sklearn import Conversation
    from kura_sklearn.utils import parallel_transform

    class WorkerTaggedBackend(OpenAIBackend):
        """Sends the model name with the process id of whoever calls."""

        def complete(self, prompts, response_model, **kwargs):
            import dataclasses
            import os

            tagged = dataclasses.replace(self, model=f"{self.model}@{os.getpid()}")
            return OpenAIBackend.complete(tagged, prompts, response_model, **kwargs)

    convs = [
        Conversation(chat_id=f"c{i}", messages=[{"role": "user", "content": f"t {i}"}])
        for i in range(8)
    ]
    summarizer = ConversationSummarizer(
        "custom-model",
        **on_server(fake_llm, backend=WorkerTaggedBackend, max_retries=1),
    ).set_output(transform="pandas")
    frame = parallel_transform(summarizer, convs, chunk_size=2, n_jobs=2)
    assert (frame["summary_source"] == "llm").all() and len(frame) == 8
    models = {r["model"] for r in fake_llm.chat_requests()}
    pids = {m.rpartition("@")[2] for m in models}
    assert {m.rpartition("@")[0] for m in models} == {"custom-model"}
    assert str(os.getpid()) not in pids and len(pids) >= 1  # workers asked


def test_grid_search_reaches_each_llm_setting_as_a_nested_parameter(fake_llm):
    # Issue 14: the settings moved into one object; a search still reaches
    # every one, and a setting that changes the answer changes the cache key
    from sklearn.base import clone

    pipe = make_kura_pipeline("test-model", base_url=fake_llm.base_url)
    params = pipe.get_params()
    for field in LLMSettings().get_params():
        assert f"summarize__llm__{field}" in params
        assert f"cluster__namer__llm__{field}" in params
    # each step holds its own settings: setting one leaves the other alone
    pipe.set_params(summarize__llm__temperature=0.7, summarize__llm__seed=3)
    assert pipe[0].llm.temperature == 0.7 and pipe[-1].namer.llm.temperature == 0.0
    assert clone(pipe).get_params()["summarize__llm__seed"] == 3

    summarizer = ConversationSummarizer("test-model", **on_server(fake_llm))
    convs = [{"chat_id": "a", "messages": [{"role": "user", "content": "hello there"}]}]
    for temperature in (0.0, 0.5, 0.0):
        summarizer.set_params(llm__temperature=temperature).transform(convs)
    sent = [r.get("temperature") for r in fake_llm.chat_requests()]
    assert sent == [0.0, 0.5, 0.0]  # each setting reached the server


def test_summarizer_and_namer_share_one_cached_completion(fake_llm, tmp_path):
    # Issue 14: LLMNamer._complete was a second copy of the summarizer's
    # cache-and-backend glue. Both now go through llm.cached_complete, so they
    # behave alike on a fault: finished answers are cached at once, the
    # failed item is named in LLMBatchError with the others kept, and a rerun
    # asks only for the failed one.
    from kura_sklearn import Conversation

    fake_llm.configure(permanent_fault_marker="BROKEN")
    convs = [
        Conversation(chat_id=f"c{i}", messages=[{"role": "user", "content": text}])
        for i, text in enumerate(["alpha topic", "BROKEN topic", "gamma topic"])
    ]
    settings = on_server(fake_llm, max_retries=0)
    summarizer = ConversationSummarizer(
        "test-model", on_error="raise", cache_dir=str(tmp_path), **settings
    )
    namer = LLMNamer(
        "test-model",
        on_error="raise",
        cache_dir=str(tmp_path),
        max_contrastive_examples=0,
        **on_server(fake_llm, max_retries=0),
    )
    texts = ["alpha one", "alpha two", "BROKEN one", "BROKEN two", "gamma a", "gamma b"]
    labels = [0, 0, 1, 1, 2, 2]
    embeddings = np.eye(6)[[0, 0, 1, 1, 2, 2]]
    runs = {
        "summarizer": (lambda: summarizer.transform(convs), "'c1'"),
        "namer": (
            lambda: namer.name_clusters(texts, labels, embeddings, random_state=0),
            "'cluster 1'",
        ),
    }
    for name, (run, failed_id) in runs.items():
        fake_llm.reset()
        fake_llm.configure(permanent_fault_marker="BROKEN")
        with pytest.raises(LLMBatchError, match=failed_id) as info:
            run()
        assert [r is None for r in info.value.results] == [False, True, False], name
        assert fake_llm.stats()["chat_completions"] == 2, name
        fake_llm.reset()  # the fault is gone: only the failed item is asked
        run()
        assert fake_llm.stats()["chat_completions"] == 1, name


def test_answer_identity_changes_with_every_output_changing_setting_only():
    # Cache keys keep their meaning: the default settings give the same
    # identity fields as before the settings moved into LLMSettings (so
    # existing caches stay valid), every setting that changes an answer
    # changes it, and transport settings do not.
    base = LLMSettings().answer_identity("m")
    assert set(base) == {
        "model",
        "base_url",
        "temperature",
        "seed",
        "structured_output",
        "prompt_version",
    }
    changed = {
        "base_url": "http://other/v1",
        "temperature": 0.5,
        "seed": 1,
        "structured_output": "json_object",
        "backend": OpenAIBackend,
    }
    for field, value in changed.items():
        assert LLMSettings(**{field: value}).answer_identity("m") != base, field
    assert LLMSettings().answer_identity("other") != base
    same = {
        "api_key_env": "OTHER_KEY",
        "max_concurrency": 1,
        "timeout": 5.0,
        "max_retries": 0,
        "max_tokens": 100,
    }
    for field, value in same.items():
        assert LLMSettings(**{field: value}).answer_identity("m") == base, field


def test_make_kura_pipeline_takes_llm_settings_or_their_fields():
    # The factory's old keywords are a shorthand for llm=LLMSettings(...);
    # both at once, or a field that does not exist, is an error.
    settings = LLMSettings(base_url="http://gpu:8000/v1", max_retries=2)
    by_object = make_kura_pipeline("m", llm=settings)
    by_fields = make_kura_pipeline("m", base_url="http://gpu:8000/v1", max_retries=2)
    assert by_object.get_params()["summarize__llm"] == settings
    assert by_fields.get_params()["cluster__namer__llm"] == settings
    assert by_object[0].llm is not settings  # each step gets its own copy
    with pytest.raises(TypeError, match="not both"):
        make_kura_pipeline("m", llm=settings, max_retries=3)
    with pytest.raises(TypeError, match="bse_url"):
        make_kura_pipeline("m", bse_url="http://gpu:8000/v1")
