"""ConversationSummarizer: offline mode, and LLM mode against the loopback server."""

import pickle

import numpy as np
import pandas as pd
import pytest
from _loopback import on_server
from _openai_server import TEST_KEY_ENV
from pydantic import Field

from kura_sklearn import Conversation, ConversationSummarizer, ConversationSummary
from kura_sklearn.llm import LLMBatchError, LLMSettings


def make_conversations(n, marker_at=None, marker="PERMANENT-FAULT"):
    topics = [
        "python lists",
        "french cooking",
        "tax returns",
        "guitar chords",
        "kubernetes pods",
        "poetry meter",
        "marathon training",
        "sql joins",
    ]
    convs = []
    for i in range(n):
        text = f"Help me understand {topics[i % len(topics)]} please, case {i}."
        if i == marker_at:
            text += f" {marker}"
        convs.append(
            Conversation(
                chat_id=f"chat-{i:03d}",
                messages=[
                    {"role": "user", "content": text},
                    {"role": "assistant", "content": "Sure, here is how it works."},
                ],
            )
        )
    return convs


def llm_summarizer(server, **params):
    params.setdefault("max_retries", 2)
    return ConversationSummarizer(model="test-model", **on_server(server, **params))


# --- offline mode ----------------------------------------------------------


def test_offline_summary_is_the_cleaned_opening_request():
    # No model: the summary is the user's request with code and URLs elided.
    conv = Conversation(
        chat_id="x",
        messages=[
            {"role": "system", "content": "You are helpful."},
            {
                "role": "user",
                "content": "Why does this fail?\n```python\nx = [1,2\n```\n"
                "see https://example.com/bug",
            },
            {"role": "assistant", "content": "A bracket is missing."},
        ],
    )
    frame = ConversationSummarizer().set_output(transform="pandas").transform([conv])
    row = frame.loc["x"]
    assert row["summary"] == "Why does this fail? [code] see [url]"
    # human languages apart from the languages of code
    assert row["languages"] == ["english"]
    assert row["programming_languages"] == ["python"]
    assert row["n_messages"] == 3 and row["n_user_messages"] == 1
    # judgement facets stay missing rather than invented
    assert row["concerning_score"] is None and row["task"] is None


@pytest.mark.parametrize(
    "text, language",
    [
        ("¿Cómo puedo preparar una tortilla de patatas para la cena?", "spanish"),
        ("Comment est-ce que je peux améliorer mon CV pour un poste?", "french"),
        ("Wie kann ich meine Steuererklärung mit dem Programm machen?", "german"),
        ("Как приготовить борщ дома?", "russian"),
        ("如何学习机器学习？", "chinese"),
    ],
)
def test_offline_mode_detects_languages(text, language):
    conv = Conversation(chat_id="x", messages=[{"role": "user", "content": text}])
    frame = ConversationSummarizer().set_output(transform="pandas").transform([conv])
    assert frame.loc["x", "languages"] == [language]


@pytest.mark.parametrize(
    "text", ["Hello Hey whats up!", "hi is anyone there?", "react or python?"]
)
def test_offline_languages_need_evidence(text):
    # The old detector read these as javascript, dutch, and react/python code.
    conv = Conversation(chat_id="x", messages=[{"role": "user", "content": text}])
    frame = ConversationSummarizer().set_output(transform="pandas").transform([conv])
    assert frame.loc["x", "languages"] in ([], ["english"])


def test_offline_summary_is_bounded():
    conv = Conversation(
        chat_id="x", messages=[{"role": "user", "content": "word " * 500}]
    )
    (summary,) = ConversationSummarizer().transform([conv])
    assert len(summary) <= 303 and summary.endswith("...")


def test_default_output_is_1d_object_array_in_input_order():
    convs = make_conversations(5)
    out = ConversationSummarizer().transform(convs)
    assert out.shape == (5,) and out.dtype == object
    assert out[3].startswith("Help me understand guitar chords")


@pytest.mark.parametrize("output", ["default", "pandas"])
def test_a_generator_gives_every_row_like_a_hashing_vectorizer(output):
    # issue 12, item 6: fit read the generator, so fit_transform and the
    # pipeline saw nothing; fit now leaves iterators unread
    convs = make_conversations(6)
    summarizer = ConversationSummarizer().set_output(transform=output)
    out = summarizer.fit_transform(c for c in convs)
    assert len(out) == 6
    expected = ConversationSummarizer().set_output(transform=output).transform(convs)
    assert list(np.asarray(out).ravel()) == list(np.asarray(expected).ravel())
    gen = iter(convs)
    assert len(ConversationSummarizer().fit(gen).transform(gen)) == 6


def test_a_generator_through_the_whole_pipeline():
    from kura_sklearn import KMeansClusterer, make_kura_pipeline

    convs = make_conversations(16)
    pipe = make_kura_pipeline(
        clusterer=KMeansClusterer(n_clusters=4), max_clusters=2, random_state=0
    )
    labels = pipe.fit_predict(c for c in convs)
    assert len(labels) == 16
    assert pipe[-1].chat_ids_ == [c.chat_id for c in convs]
    np.testing.assert_array_equal(pipe.predict(iter(convs)), labels)


def test_one_bare_conversation_is_rejected_with_the_fix():
    # issue 12, item 12: predict(conversation) failed with "got tuple"
    from kura_sklearn import make_kura_pipeline

    conv = make_conversations(1)[0]
    with pytest.raises(
        ValueError, match=r"one Conversation received.*\[conversation\]"
    ):
        ConversationSummarizer().transform(conv)
    pipe = make_kura_pipeline()
    pipe.fit(make_conversations(12))
    with pytest.raises(ValueError, match=r"\[conversation\]"):
        pipe.predict(conv)
    assert len(pipe.predict([conv])) == 1


def test_feature_names_out_name_the_pandas_columns():
    # issue 12, item 12: no get_feature_names_out, so a Pipeline's failed
    from sklearn.pipeline import Pipeline

    from kura_sklearn import SentenceTransformerEmbedder, make_kura_pipeline

    convs = make_conversations(4)
    summarizer = ConversationSummarizer().set_output(transform="pandas")
    names = summarizer.get_feature_names_out()
    assert list(names) == list(summarizer.transform(convs).columns)
    assert list(make_kura_pipeline()[:-1].get_feature_names_out()) == list(names)

    class WithSentiment(ConversationSummary):
        sentiment: str = "neutral"

    llm = ConversationSummarizer(model="m", schema=WithSentiment)
    assert list(llm.get_feature_names_out())[-4:] == [
        "sentiment",
        "summary_source",  # "llm", or "fallback" (on_error)
        "n_messages",
        "n_user_messages",
    ]
    pipe = Pipeline(
        [("summarize", summarizer), ("embed", SentenceTransformerEmbedder())]
    )
    assert len(pipe.fit(convs).get_feature_names_out()) == 384


def test_accepts_dicts_and_dataframes():
    import pandas as pd

    rows = pd.DataFrame(
        {
            "chat_id": ["a", "a", "b"],
            "role": ["user", "assistant", "user"],
            "content": ["first question", "answer", "second question"],
        }
    )
    assert list(ConversationSummarizer().transform(rows)) == [
        "first question",
        "second question",
    ]
    dicts = [{"chat_id": "z", "messages": [{"role": "user", "content": "hi there"}]}]
    assert list(ConversationSummarizer().transform(dicts)) == ["hi there"]


def test_duplicate_chat_ids_are_rejected_naming_the_id():
    conv = make_conversations(1)[0]
    with pytest.raises(ValueError, match="chat-000.*duplicate|duplicate.*chat-000"):
        ConversationSummarizer().transform([conv, conv])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"prompt": "no placeholder here"}, r"\{conversation\}"),
        ({"schema": dict}, "pydantic"),
        ({"llm": LLMSettings(max_concurrency=0)}, "max_concurrency"),
        ({"llm": LLMSettings(temperature=-1.0)}, "temperature"),
        ({"model": "opnai/gpt-4o-mini"}, "Unknown provider prefix 'opnai'"),
    ],
)
def test_invalid_parameters_are_reported_at_fit(params, match):
    est = ConversationSummarizer(**params)  # __init__ accepts anything
    with pytest.raises((ValueError, TypeError), match=match):
        est.fit(make_conversations(2))


# --- LLM mode ---------------------------------------------------------------


def test_llm_summaries_fill_every_facet(fake_llm):
    convs = make_conversations(8)
    frame = llm_summarizer(fake_llm).set_output(transform="pandas").fit_transform(convs)
    assert list(frame.index) == [c.chat_id for c in convs]
    for name in ConversationSummary.model_fields:
        assert name in frame.columns
    assert frame["concerning_score"].between(1, 5).all()
    assert frame["user_frustration"].between(1, 5).all()
    # the fake model writes from the conversation's own words
    assert "guitar" in frame.loc["chat-003", "summary"]
    assert fake_llm.stats()["chat_completions"] == 8


def test_llm_summarizer_is_deterministic_and_pickles(fake_llm):
    convs = make_conversations(6)
    est = llm_summarizer(fake_llm)
    first = est.fit_transform(convs)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.transform(convs), first)


def test_200_conversations_with_concurrency_20_and_50ms_latency(fake_llm):
    # Done-when: 200 conversations, max_concurrency=20, 50 ms latency. The cap
    # is respected and reached, so the run takes about 200/20 x 50 ms.
    fake_llm.configure(latency=0.05)
    convs = make_conversations(200)
    out = llm_summarizer(fake_llm, max_concurrency=20).transform(convs)
    assert len(out) == 200 and all(isinstance(s, str) and s for s in out)
    stats = fake_llm.stats()
    assert stats["chat_completions"] == 200
    assert 10 <= stats["max_in_flight"] <= 20


def test_random_faults_are_retried_until_every_conversation_is_summarised(fake_llm):
    # Done-when: with 30% of requests failing at random (429, 500, time-outs,
    # broken JSON), every conversation still gets a summary.
    fake_llm.configure(latency=0.05, fault_rate=0.3, seed=7, timeout_seconds=3.0)
    convs = make_conversations(200)
    est = llm_summarizer(fake_llm, max_concurrency=20, max_retries=10, timeout=1.0)
    frame = est.set_output(transform="pandas").transform(convs)
    assert frame["summary"].str.len().gt(0).all() and len(frame) == 200
    stats = fake_llm.stats()
    assert sum(stats["faults"].values()) >= 30  # faults really happened
    assert set(stats["faults"]) >= {"429", "500", "malformed_json"}
    assert stats["chat_completions"] >= 200


def test_permanent_fault_names_the_conversation_and_keeps_the_rest(fake_llm):
    # Done-when: one conversation always fails; the error names it and the
    # other 199 summaries are kept on the error.
    fake_llm.configure(
        latency=0.05,
        permanent_fault_marker="PERMANENT-FAULT",
        permanent_fault_kind="500",
    )
    convs = make_conversations(200, marker_at=17)
    est = llm_summarizer(fake_llm, max_concurrency=20, max_retries=2, on_error="raise")
    with pytest.raises(LLMBatchError, match="chat-017") as info:
        est.transform(convs)
    err = info.value
    assert list(err.failures) == ["chat-017"]
    assert (
        "500" in err.failures["chat-017"]
        or "InternalServer" in err.failures["chat-017"]
    )
    kept = [r for r in err.results if r is not None]
    assert len(kept) == 199 and err.results[17] is None
    assert "1 of 200" in str(err) and "199 succeeded" in str(err)


def test_permanent_fault_falls_back_visibly_by_default(fake_llm, caplog):
    # Issue 12, item 10: the default policy (on_error="fallback") finishes:
    # the failed conversation gets its extractive summary, marked in
    # summary_source, counted by track_llm_usage and logged; it is not
    # cached, so a later call asks the model again.
    from kura_sklearn.llm import track_llm_usage

    fake_llm.configure(permanent_fault_marker="PERMANENT-FAULT")
    convs = make_conversations(20, marker_at=3)
    est = llm_summarizer(fake_llm, max_retries=1).set_output(transform="pandas")
    with track_llm_usage() as usage:
        frame = est.transform(convs)
    expected = ["llm"] * 3 + ["fallback"] + ["llm"] * 16
    assert frame["summary_source"].tolist() == expected
    assert "PERMANENT-FAULT" in frame.loc["chat-003", "summary"]  # extractive
    assert list(frame.columns) == list(est.get_feature_names_out())
    assert pd.isna(frame.loc["chat-003", "task"])  # no judgement without a model
    assert usage["summarize"] == {
        "items": 20,
        "requests": 19 + 2,
        "retries": 1,
        "failures": 1,
        "fallbacks": 1,
        "cache_hits": 0,
    }
    assert "1 of 20 conversations summarised extractively" in caplog.text


def test_a_refused_key_raises_under_either_policy(fake_llm):
    # A fallback for every conversation would hide a wrong setting.
    fake_llm.configure(fault_rate=1.0, fault_kinds=("401",))
    with pytest.raises(LLMBatchError, match="AuthenticationError"):
        llm_summarizer(fake_llm).transform(make_conversations(2))


def test_extended_schema_and_custom_prompt_reach_the_model(fake_llm):
    # Users extend the facets with a subclass and reword the prompt.
    class WithSentiment(ConversationSummary):
        sentiment: str = Field(description="positive, neutral or negative")

    est = llm_summarizer(
        fake_llm,
        schema=WithSentiment,
        prompt="Summarise.\n<conversation>{conversation}</conversation>",
    )
    frame = est.set_output(transform="pandas").transform(make_conversations(3))
    assert "sentiment" in frame.columns
    assert frame["sentiment"].str.startswith("Sentiment:").all()


def test_missing_key_names_the_variable_not_a_value(monkeypatch):
    # Against OpenAI itself (no base_url) a missing key is a clear error
    # naming the environment variable.
    monkeypatch.delenv("MY_ABSENT_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    est = ConversationSummarizer(
        model="openai/gpt-4o-mini", llm=LLMSettings(api_key_env="MY_ABSENT_KEY")
    )
    with pytest.raises(RuntimeError, match="MY_ABSENT_KEY"):
        est.transform(make_conversations(1))


def test_openai_base_url_variable_is_honoured(fake_llm, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", fake_llm.base_url)
    est = ConversationSummarizer(
        model="test-model", llm=LLMSettings(api_key_env=TEST_KEY_ENV)
    )
    assert len(est.transform(make_conversations(2))) == 2
    assert fake_llm.stats()["chat_completions"] == 2


def test_pipeline_memory_sees_the_server_from_openai_base_url(
    fake_llm, monkeypatch, tmp_path
):
    # issue 12, item 12: Pipeline(memory=...) keyed the summarizer by its
    # parameters only, so after OPENAI_BASE_URL moved to a second server the
    # first server's summaries were served and the second got no call
    from _openai_server import FakeOpenAIServer
    from joblib import Memory
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    def make_pipe():
        return Pipeline(
            [
                (
                    "summarize",
                    ConversationSummarizer(
                        model="test-model", llm=LLMSettings(api_key_env=TEST_KEY_ENV)
                    ),
                ),
                ("last", FunctionTransformer()),
            ],
            memory=Memory(tmp_path, verbose=0),
        )

    convs = make_conversations(3)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_llm.base_url)
    make_pipe().fit(convs)
    make_pipe().fit(convs)  # same server: served from memory
    assert fake_llm.stats()["chat_completions"] == 3
    second = FakeOpenAIServer().start()
    try:
        monkeypatch.setenv("OPENAI_BASE_URL", second.base_url)
        make_pipe().fit(convs)
        assert second.stats()["chat_completions"] == 3
    finally:
        second.stop()
    # the digest of the server stays out of the unpickled estimator
    restored = pickle.loads(pickle.dumps(make_pipe()[0]))
    assert not [name for name in vars(restored) if "server" in name]


def test_secret_never_lands_in_repr_params_or_pickle(fake_llm, monkeypatch):
    canary = "sk-canary-5f1e2d3c4b5a"
    monkeypatch.setenv(TEST_KEY_ENV, canary)
    est = llm_summarizer(fake_llm)
    est.fit_transform(make_conversations(2))
    assert canary not in repr(est)
    assert canary not in str(est.get_params())
    assert canary.encode() not in pickle.dumps(est)


def test_long_conversations_are_truncated_to_the_budget():
    long_text = "start " + "filler " * 5000 + "finish"
    conv = Conversation(
        chat_id="long", messages=[{"role": "user", "content": long_text}]
    )
    rendered = conv.render(max_chars=1000)
    assert len(rendered) <= 1000
    assert rendered.startswith("user: start") and rendered.endswith("finish")
    assert "[... truncated ...]" in rendered


def test_300_conversations_at_30pct_mixed_faults_finish_in_one_run(fake_llm):
    # Issue 12, item 1 and "done when": 30% of requests fail at random with
    # every transient kind, truncated 200 bodies and dropped connections
    # included; with the default retries (and the default policy) all 300
    # conversations are summarised by the model in one run. Before the fix a
    # cut-off body was never retried: 25-32 of 300 failed on every run. The
    # client time-out is shortened so that "timeout" faults are real
    # time-outs without making the test slow.
    from kura_sklearn.llm import track_llm_usage

    kinds = (
        "429",
        "500",
        "timeout",
        "truncated_body",
        "malformed_json",
        "dropped_connection",
    )
    fake_llm.configure(fault_rate=0.3, fault_kinds=kinds, seed=12, timeout_seconds=3.0)
    est = ConversationSummarizer(
        model="test-model", **on_server(fake_llm, timeout=2.0)
    ).set_output(transform="pandas")
    with track_llm_usage() as usage:
        frame = est.transform(make_conversations(300))
    assert (frame["summary_source"] == "llm").all() and len(frame) == 300
    faults = fake_llm.stats()["faults"]
    assert set(faults) == set(kinds) and sum(faults.values()) >= 60
    stage = usage["summarize"]
    assert stage["failures"] == stage["fallbacks"] == 0
    # every fault retried once (more if a loaded machine made an answer late)
    assert stage["retries"] >= sum(faults.values())
    assert stage["requests"] == 300 + stage["retries"]
