"""The LLM backend layer against the loopback server, through the real client."""

import pickle

import pytest
from _openai_server import TEST_KEY_ENV
from pydantic import BaseModel, Field

from kura_sklearn.llm import (
    LLMBatchError,
    OpenAIBackend,
    StructuredLLM,
    TextEmbeddingBackend,
    get_client,
    make_backend,
    strict_json_schema,
)


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
    # names from self-hosted servers keep their slashes
    assert make_backend("meta-llama/Llama-3.1-8B").model == "meta-llama/Llama-3.1-8B"


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
    from kura_sklearn import Conversation, ConversationSummarizer
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
        "m",
        base_url=fake_llm.base_url,
        api_key_env=TEST_KEY_ENV,
        max_retries=0,
        on_error="raise",
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
