"""The fake OpenAI server, driven by the real ``openai`` client over HTTP.

Nothing is mocked: every test talks to a real server on 127.0.0.1.
"""

import json
import math
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Literal

import openai
import pytest
from _openai_server import TEST_KEY_ENV, FakeOpenAIServer
from pydantic import BaseModel, Field

# -- helpers -------------------------------------------------------------------


@pytest.fixture
def client(fake_llm):
    with openai.OpenAI(base_url=fake_llm.base_url, api_key="x", max_retries=0) as c:
        yield c


def _schema_format(schema, name="Answer"):
    return {
        "type": "json_schema",
        "json_schema": {"name": name, "schema": schema, "strict": True},
    }


def _ask(client, text, schema=None, **kwargs):
    response_format = _schema_format(schema) if schema is not None else None
    extra = {"response_format": response_format} if response_format else {}
    response = client.chat.completions.create(
        model="fake-chat-model",
        messages=[{"role": "user", "content": text}],
        **extra,
        **kwargs,
    )
    return response.choices[0].message.content


def _http(server, method, path, body=None, headers=None, timeout=5):
    """Raw urllib call; returns (status, headers, parsed JSON body)."""
    root = server.base_url[: -len("/v1")]
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        root + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.headers, json.loads(err.read())


def _cosine(a, b):
    return sum(x * y for x, y in zip(a, b)) / (
        math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    )


class Topic(BaseModel):
    name: str
    weight: float = Field(ge=0, le=1)


class Summary(BaseModel):
    summary: str
    request_category: Literal["coding", "writing", "cooking", "travel"]
    frustration: int = Field(ge=1, le=5)
    harmful: bool
    topics: list[Topic] = Field(min_length=1, max_length=3)
    language: str | None


def _summary_schema():
    return Summary.model_json_schema()  # nested model -> $defs + $ref


# -- chat completions ------------------------------------------------------------


def test_json_schema_answer_is_schema_valid_and_deterministic(client):
    # A json_schema request gets a valid instance; same request -> same answer.
    text = "How do I fix this python function that crashes on empty lists?"
    first = _ask(client, text, _summary_schema())
    second = _ask(client, text, _summary_schema())
    answer = Summary.model_validate_json(first)  # raises if not schema-valid
    assert first == second
    assert 1 <= len(answer.topics) <= 2
    assert answer.language is not None  # anyOf picks the first non-null option
    assert answer.summary == ("Summary: fix python function crashes empty lists")
    assert answer.topics[0].name.startswith("Name: ")


def test_different_conversations_get_different_answers(client):
    # The answer follows the prompt: another conversation, another content.
    a = _ask(client, "Plan my travel itinerary for Lisbon", _summary_schema())
    b = _ask(client, "Write a poem about autumn leaves", _summary_schema())
    assert a != b
    assert "lisbon" in Summary.model_validate_json(a).summary
    assert "autumn" in Summary.model_validate_json(b).summary


def test_string_words_come_from_the_last_tag_pair(client):
    # Content words come from the <conversation> block, not the instructions.
    prompt = (
        "Summarise the following exchange carefully.\n"
        "<conversation>\nuser: My sourdough bread collapsed in the oven!\n"
        "assistant: Proofing longer helps.\n</conversation>"
    )
    schema = {
        "type": "object",
        "properties": {"summary": {"type": "string"}},
        "required": ["summary"],
        "additionalProperties": False,
    }
    content = json.loads(_ask(client, prompt, schema))
    assert content == {
        "summary": "Summary: user sourdough bread collapsed oven "
        "assistant proofing longer"
    }


def test_same_request_same_answer_in_a_fresh_client(fake_llm):
    # Determinism does not depend on the connection or on Python's hash seed.
    schema = _summary_schema()
    answers = set()
    for _ in range(2):
        with openai.OpenAI(base_url=fake_llm.base_url, api_key="k", max_retries=0) as c:
            answers.add(_ask(c, "Translate my cover letter into French", schema))
    assert len(answers) == 1


def test_schema_keywords_bounds_enums_arrays_refs(client):
    # $ref/$defs, enum, const, bounds, exclusive bounds, arrays and lengths.
    schema = {
        "type": "object",
        "$defs": {
            "Item": {
                "type": "object",
                "properties": {
                    "label": {"type": "string", "maxLength": 12},
                    "rank": {"type": "integer", "minimum": 10, "maximum": 12},
                },
            }
        },
        "properties": {
            "items": {
                "type": "array",
                "items": {"$ref": "#/$defs/Item"},
                "minItems": 2,
                "maxItems": 5,
            },
            "one": {"type": "array", "items": {"type": "string"}, "maxItems": 1},
            "tags": {"type": "array", "items": {"type": "string"}},
            "score": {"type": "integer", "exclusiveMinimum": 3, "exclusiveMaximum": 5},
            "ratio": {"type": "number", "minimum": 0.25, "maximum": 0.5},
            "count": {"type": "integer"},
            "colour": {"enum": ["red", "green", "blue"]},
            "kind": {"const": "fixed"},
            "maybe": {
                "anyOf": [
                    {"type": "null"},
                    {"type": "integer", "minimum": 7, "maximum": 7},
                ]
            },
            "flag": {"type": "boolean"},
            "nothing": {"type": "null"},
            "long_name": {"type": "string", "minLength": 60},
        },
        "required": ["items"],  # every property is filled all the same
    }
    data = json.loads(_ask(client, "Compare two SQL query plans for speed", schema))
    assert set(data) == set(schema["properties"])
    assert len(data["items"]) == 2
    for item in data["items"]:
        assert 10 <= item["rank"] <= 12 and len(item["label"]) <= 12
        assert item["label"].startswith("Label:")
    assert len(data["one"]) == 1
    assert len(data["tags"]) == 1 and data["tags"][0].startswith("Tags: ")
    assert data["score"] == 4
    assert 0.25 <= data["ratio"] <= 0.5
    assert isinstance(data["count"], int) and 1 <= data["count"] <= 5
    assert data["colour"] in ("red", "green", "blue")
    assert data["kind"] == "fixed"
    assert data["maybe"] == 7
    assert isinstance(data["flag"], bool)
    assert data["nothing"] is None
    assert len(data["long_name"]) >= 60 and data["long_name"].startswith("Long name: ")


def test_enum_choice_varies_with_the_prompt(client):
    # Enums are picked by a hash of (prompt, path): several prompts, several values.
    schema = {
        "type": "object",
        "properties": {"colour": {"enum": ["red", "green", "blue", "cyan", "magenta"]}},
    }
    seen = {
        json.loads(_ask(client, f"Question number {i}", schema))["colour"]
        for i in range(12)
    }
    assert len(seen) >= 2


def test_json_object_and_plain_text_answers(client):
    # json_object -> {"answer": ...}; no response_format -> the plain string.
    text = "Explain the causes of inflation"
    obj = client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": text}],
        response_format={"type": "json_object"},
    )
    assert json.loads(obj.choices[0].message.content) == {
        "answer": "Answer: explain causes inflation"
    }
    assert _ask(client, text) == "Answer: explain causes inflation"


def test_chat_completion_envelope_and_content_parts(client):
    # A standard ChatCompletion; content given as a list of text parts works.
    response = client.chat.completions.create(
        model="my-model",
        messages=[
            {"role": "system", "content": "You are terse."},
            {
                "role": "user",
                "content": [{"type": "text", "text": "Review my React component"}],
            },
        ],
    )
    assert response.object == "chat.completion"
    assert response.model == "my-model"
    choice = response.choices[0]
    assert choice.index == 0 and choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.content == "Answer: review react component"
    usage = response.usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_bad_chat_request_is_a_400(client):
    # A request without messages gets an OpenAI-style 400.
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="m", messages=[])


# -- embeddings -------------------------------------------------------------------


TEXTS = [
    "reset my bank card pin",
    "reset my bank card pin",
    "my bank card was declined",
    "poem about autumn leaves",
]


def test_float_embeddings_shape_norm_and_similarity(client):
    # Float vectors: unit norm, identical texts equal, shared words closer.
    response = client.embeddings.create(model="e", input=TEXTS, encoding_format="float")
    vectors = [d.embedding for d in sorted(response.data, key=lambda d: d.index)]
    assert [len(v) for v in vectors] == [64] * 4
    for v in vectors:
        assert math.isclose(math.sqrt(sum(x * x for x in v)), 1.0, rel_tol=1e-5)
    assert vectors[0] == vectors[1]
    assert _cosine(vectors[0], vectors[2]) > 0.3
    assert _cosine(vectors[0], vectors[2]) > _cosine(vectors[0], vectors[3]) + 0.2
    assert response.usage.prompt_tokens > 0


def test_base64_embeddings_match_float_ones(client):
    # The client's default (base64 float32) decodes to the same vectors.
    default = client.embeddings.create(model="e", input=TEXTS)  # sends base64
    floats = client.embeddings.create(model="e", input=TEXTS, encoding_format="float")
    assert [d.embedding for d in default.data] == [d.embedding for d in floats.data]
    assert len(default.data[0].embedding) == 64


def test_embedding_dimensions_and_empty_text(client, fake_llm):
    # `dimensions` is honoured, the setting is the default, "" is a unit vector.
    assert (
        len(
            client.embeddings.create(model="e", input="hello", dimensions=16)
            .data[0]
            .embedding
        )
        == 16
    )
    fake_llm.configure(embedding_dimensions=8)
    vector = client.embeddings.create(model="e", input="").data[0].embedding
    assert vector == [1.0] + [0.0] * 7


# -- other endpoints, auth ------------------------------------------------------------


def test_models_list_and_unknown_path(client, fake_llm):
    # /v1/models lists ids; an unknown path is a 404 with an OpenAI error body.
    ids = [m.id for m in client.models.list()]
    assert len(ids) >= 2
    status, _, body = _http(
        fake_llm, "GET", "/v1/nope", headers={"Authorization": "Bearer x"}
    )
    assert status == 404
    assert set(body["error"]) >= {"message", "type", "code"}


def test_missing_or_empty_key_is_a_401(fake_llm):
    # No Authorization header (urllib) or an empty one (client) -> 401.
    status, _, body = _http(
        fake_llm,
        "POST",
        "/v1/chat/completions",
        {"model": "m", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert status == 401 and body["error"]["code"] == "invalid_api_key"
    with openai.OpenAI(
        base_url=fake_llm.base_url,
        api_key="x",
        max_retries=0,
        default_headers={"Authorization": ""},
    ) as c:
        with pytest.raises(openai.AuthenticationError):
            c.embeddings.create(model="e", input="hello")
    assert fake_llm.stats()["by_status"] == {401: 2}


def test_stats_count_requests_and_inputs(client, fake_llm):
    # stats() counts paths, statuses, chat answers and embedded texts.
    _ask(client, "hello there")
    client.embeddings.create(model="e", input=["a b", "c d", "e f"])
    stats = fake_llm.stats()
    assert stats["requests"] == 2
    assert stats["by_path"] == {"/v1/chat/completions": 1, "/v1/embeddings": 1}
    assert stats["by_status"] == {200: 2}
    assert stats["chat_completions"] == 1
    assert stats["embedding_requests"] == 1 and stats["embedded_inputs"] == 3
    assert stats["in_flight"] == 0 and stats["faults"] == {}
    stats["requests"] = 99  # a snapshot: changing it changes nothing
    assert fake_llm.stats()["requests"] == 2


def test_fake_llm_fixture_sets_the_test_key(fake_llm):
    # The fixture gives a dummy key and removes the real OpenAI variables.
    assert os.environ[TEST_KEY_ENV] == "sk-test-not-a-secret"
    assert "OPENAI_API_KEY" not in os.environ
    assert "OPENAI_BASE_URL" not in os.environ


# -- latency and faults --------------------------------------------------------------


def test_latency_is_applied(client, fake_llm):
    # With latency 0.2 a request takes at least 0.2 s.
    fake_llm.configure(latency=0.2)
    start = time.perf_counter()
    _ask(client, "slow please")
    assert time.perf_counter() - start >= 0.2


def test_fault_429_is_a_rate_limit_error(client, fake_llm):
    # A 429 fault raises RateLimitError and carries Retry-After: 0.
    fake_llm.configure(fault_rate=1.0, fault_kinds=["429"])
    with pytest.raises(openai.RateLimitError) as info:
        _ask(client, "hello")
    assert info.value.response.headers["retry-after"] == "0"
    assert fake_llm.stats()["faults"] == {"429": 1}


def test_fault_500_is_an_internal_server_error(client, fake_llm):
    # A 500 fault raises InternalServerError, for chat and for embeddings.
    fake_llm.configure(fault_rate=1.0, fault_kinds=["500"])
    with pytest.raises(openai.InternalServerError):
        _ask(client, "hello")
    with pytest.raises(openai.InternalServerError):
        client.embeddings.create(model="e", input="hello")
    assert fake_llm.stats()["by_status"] == {500: 2}


def test_fault_timeout_makes_the_client_time_out(fake_llm):
    # A timeout fault outlasts a 0.5 s client timeout -> APITimeoutError.
    fake_llm.configure(fault_rate=1.0, fault_kinds=["timeout"], timeout_seconds=5)
    with openai.OpenAI(
        base_url=fake_llm.base_url, api_key="x", max_retries=0, timeout=0.5
    ) as c:
        start = time.perf_counter()
        with pytest.raises(openai.APITimeoutError):
            _ask(c, "hello")
        assert time.perf_counter() - start < 3
    assert fake_llm.stats()["faults"] == {"timeout": 1}


def test_fault_timeout_answers_normally_when_the_client_waits(fake_llm):
    # A short timeout fault only delays the answer.
    fake_llm.configure(fault_rate=1.0, fault_kinds=["timeout"], timeout_seconds=0.2)
    with openai.OpenAI(base_url=fake_llm.base_url, api_key="x", max_retries=0) as c:
        start = time.perf_counter()
        assert _ask(c, "hello world") == "Answer: hello world"
        assert time.perf_counter() - start >= 0.2


def test_fault_malformed_json_breaks_the_content(client, fake_llm):
    # malformed_json: a 200 chat answer whose content is not JSON; 500 for embeddings.
    fake_llm.configure(fault_rate=1.0, fault_kinds=["malformed_json"])
    content = _ask(client, "hello", _summary_schema())
    with pytest.raises(json.JSONDecodeError):
        json.loads(content)
    with pytest.raises(openai.InternalServerError):
        client.embeddings.create(model="e", input="hello")
    stats = fake_llm.stats()
    assert stats["faults"] == {"malformed_json": 2}
    assert stats["by_status"] == {200: 1, 500: 1}


def test_permanent_marker_always_faults_others_succeed(client, fake_llm):
    # Requests containing the marker always fail; the rest never do.
    fake_llm.configure(permanent_fault_marker="POISON-42", permanent_fault_kind="500")
    for _ in range(3):
        with pytest.raises(openai.InternalServerError):
            _ask(client, "this one has POISON-42 inside")
        assert _ask(client, "this is fine") == "Answer: fine"
    with pytest.raises(openai.InternalServerError):
        client.embeddings.create(model="e", input=["ok", "POISON-42"])
    stats = fake_llm.stats()
    assert stats["faults"] == {"500": 4}
    assert stats["chat_completions"] == 3


def test_fault_rate_is_about_right_and_reproducible(client, fake_llm):
    # fault_rate=0.3 with a seed: ~30% of 100 requests fault, same ones each run.
    schema = {"type": "object", "properties": {"summary": {"type": "string"}}}

    def run():
        fake_llm.configure(
            fault_rate=0.3, seed=1234, fault_kinds=["429", "500", "malformed_json"]
        )
        outcomes = []
        for i in range(100):
            try:
                json.loads(_ask(client, f"request {i}", schema))
                outcomes.append("ok")
            except openai.RateLimitError:
                outcomes.append("429")
            except openai.InternalServerError:
                outcomes.append("500")
            except json.JSONDecodeError:
                outcomes.append("malformed_json")
        return outcomes

    first = run()
    faults = sum(outcome != "ok" for outcome in first)
    assert 18 <= faults <= 42
    assert run() == first
    assert len(set(first)) == 4  # every configured kind showed up


def test_configure_rejects_unknown_settings(fake_llm):
    # A typo in a setting name is a TypeError, a bad value a ValueError.
    with pytest.raises(TypeError):
        fake_llm.configure(latncy=0.1)
    with pytest.raises(ValueError):
        fake_llm.configure(fault_kinds=["503"])
    assert fake_llm.settings["latency"] == 0.0


# -- concurrency, control, life cycle -------------------------------------------------


def test_concurrent_requests_are_handled_in_parallel(client, fake_llm):
    # 20 threads at once with latency 0.2: >= 10 requests in flight together.
    fake_llm.configure(latency=0.2)
    errors = []

    def call(i):
        try:
            _ask(client, f"parallel request {i}")
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(20)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors
    assert fake_llm.stats()["max_in_flight"] >= 10
    assert fake_llm.stats()["chat_completions"] == 20
    assert time.perf_counter() - start < 3.5  # one after another would be 4 s


def test_control_endpoints_over_http(client, fake_llm):
    # Another process can configure, read stats and reset through /_control/.
    status, _, settings = _http(
        fake_llm, "POST", "/_control/config", {"latency": 0.05, "fault_kinds": ["500"]}
    )
    assert status == 200 and settings["latency"] == 0.05
    assert fake_llm.settings["fault_kinds"] == ("500",)
    status, _, body = _http(fake_llm, "POST", "/_control/config", {"nope": 1})
    assert status == 400 and "nope" in body["error"]["message"]
    _ask(client, "hello")
    status, _, stats = _http(fake_llm, "GET", "/_control/stats")
    assert status == 200 and stats["requests"] == 1  # control calls not counted
    assert stats["by_status"] == {"200": 1}  # JSON keys are strings
    status, _, _ = _http(fake_llm, "POST", "/_control/reset")
    assert status == 200
    assert fake_llm.stats()["requests"] == 0
    assert fake_llm.settings["latency"] == 0.0


def test_stop_returns_promptly_while_a_timeout_fault_sleeps():
    # stop() wakes a handler sleeping in a 30 s timeout fault: back in < 2 s.
    server = FakeOpenAIServer().start()
    server.configure(fault_rate=1.0, fault_kinds=["timeout"], timeout_seconds=30)
    outcome = []

    def call():
        with openai.OpenAI(
            base_url=server.base_url, api_key="x", max_retries=0, timeout=10
        ) as c:
            try:
                outcome.append(_ask(c, "hello"))
            except openai.APIError as exc:
                outcome.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    deadline = time.monotonic() + 5
    while server.stats()["in_flight"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.stats()["faults"] == {"timeout": 1}
    start = time.perf_counter()
    server.stop()
    assert time.perf_counter() - start < 2.0
    thread.join(5)
    assert not thread.is_alive() and outcome


def test_context_manager_and_loopback_only():
    # `with` starts and stops a server; only loopback hosts are accepted.
    with FakeOpenAIServer() as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        assert server.base_url.endswith("/v1")
        status, _, _ = _http(server, "GET", "/_control/stats")
        assert status == 200
    with pytest.raises(ValueError):
        FakeOpenAIServer(host="0.0.0.0")


def test_standalone_server_in_another_process():
    # `python tests/_openai_server.py` prints its base_url and serves from there.
    script = Path(__file__).with_name("_openai_server.py")
    proc = subprocess.Popen(
        [sys.executable, str(script), "--port", "0", "--latency", "0.01"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        with openai.OpenAI(base_url=base_url, api_key="x", max_retries=0) as c:
            vector = c.embeddings.create(model="e", input="hi").data[0].embedding
            assert len(vector) == 64
        with urllib.request.urlopen(base_url[:-3] + "/_control/stats", timeout=5) as r:
            assert json.loads(r.read())["embedded_inputs"] == 1
    finally:
        proc.terminate()
        assert proc.wait(timeout=5) == 0
