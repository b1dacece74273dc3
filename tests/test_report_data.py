"""What the report carries from the conversations (issue 15, items 1, 3 and 4):
transcripts and who may read them, metadata filters, times and trends."""

import html
import json
import re

import pytest

from kura_sklearn import Conversation, load_sample_conversations, make_kura_pipeline
from kura_sklearn.cli import main
from kura_sklearn.report import (
    conversations_table,
    growth_table,
    report_html,
    trends_table,
)
from kura_sklearn.report._transcripts import MESSAGE_CHARS

DATA_BLOCK = re.compile(
    r'<script type="application/json" id="report-data">(.*?)</script>', re.S
)
PLANTED = {
    "email": "zelda.quixote@example.org",
    "phone": "+1 415 555 0132",
    "card": "4111 1111 1111 1111",
}
NEEDLES = ["zelda.quixote", "example.org", "415 555", "4111 1111"]
LONG = "word " * 2_400  # 12,000 characters


def _planted():
    text = "My card {card} was charged twice. Reach me at {email} or {phone}."
    return [
        Conversation(
            chat_id=f"pii-{i}",
            messages=[
                {"role": "user", "content": text.format(**PLANTED)},
                {"role": "assistant", "content": "I can help. " + (LONG if i else "")},
            ],
        )
        for i in range(3)
    ]


@pytest.fixture(scope="module")
def conversations():
    return load_sample_conversations()[:60] + _planted()


@pytest.fixture(scope="module")
def fitted(conversations):
    return make_kura_pipeline().fit(conversations)


def _data(page):
    (block,) = DATA_BLOCK.findall(page)
    return json.loads(block)


@pytest.fixture(scope="module")
def page(fitted, conversations):
    return report_html(fitted, conversations=conversations)


def test_transcripts_are_joined_by_chat_id_and_scrubbed(fitted, conversations, page):
    data = _data(page)
    transcripts = data["transcripts"]
    assert transcripts["included"] and transcripts["scrubbed"]
    by_id = {c.chat_id: c for c in conversations}
    for chat_id, messages in zip(
        data["conversations"]["chat_id"], transcripts["messages"]
    ):
        expected = by_id[chat_id].messages
        assert [m[0] for m in messages] == [m.role for m in expected]
    # the planted private data is replaced, in the transcripts and everywhere
    row = data["conversations"]["chat_id"].index("pii-0")
    user = transcripts["messages"][row][0][1]
    assert "[CARD]" in user and "[EMAIL]" in user and "[PHONE]" in user
    assert [n for n in NEEDLES if n in page] == []


def test_long_messages_are_cut_and_say_how_long(page):
    data = _data(page)
    row = data["conversations"]["chat_id"].index("pii-1")
    role, text, length = data["transcripts"]["messages"][row][1]
    assert role == "assistant" and len(text) == MESSAGE_CHARS
    assert length == len("I can help. " + LONG)
    assert data["transcripts"]["n_messages"][row] == 2


def test_conversations_not_in_the_fit_are_ignored(fitted, conversations):
    extra = Conversation(
        chat_id="not-fitted", messages=[{"role": "user", "content": "secret-extra"}]
    )
    # order does not matter, unknown ones are ignored, missing ones are None
    given = [extra] + list(reversed(conversations[1:]))
    data = _data(report_html(fitted, conversations=given))
    assert "secret-extra" not in json.dumps(data)
    row = data["conversations"]["chat_id"].index(conversations[0].chat_id)
    assert data["transcripts"]["messages"][row] is None
    assert all(
        m is not None for i, m in enumerate(data["transcripts"]["messages"]) if i != row
    )


def test_transcripts_can_be_left_out(fitted, conversations):
    page = report_html(fitted, conversations=conversations, transcripts=False)
    data = _data(page)
    assert data["transcripts"] == {
        "included": False,
        "note": "left out of this report (transcripts=False)",
    }
    assert "Start with a walk-run plan" not in page
    # without the conversations there is nothing to include
    assert _data(report_html(fitted))["transcripts"]["included"] is False


def test_privacy_settings_leave_transcripts_out_by_default(fitted, conversations):
    from sklearn.base import clone

    # a threshold that withholds the smallest base clusters only
    sizes = sorted(c.count for c in fitted[-1].clusters_ if c.level == 0)
    assert sizes[0] < sizes[-1]
    pipe = clone(fitted).set_params(cluster__min_cluster_size=sizes[0] + 1)
    pipe.fit(conversations)
    clusters = pipe[-1].clusters_
    assert any(c.hidden for c in clusters) and not all(c.hidden for c in clusters)
    data = _data(report_html(pipe, conversations=conversations))
    assert data["transcripts"]["included"] is False
    assert f"min_cluster_size={sizes[0] + 1}" in data["transcripts"]["note"]
    # asked for, they are included, but never those of withheld clusters
    data = _data(report_html(pipe, conversations=conversations, transcripts=True))
    hidden = {m for c in clusters if c.hidden for m in c.member_ids}
    for chat_id, messages in zip(
        data["conversations"]["chat_id"], data["transcripts"]["messages"]
    ):
        assert (messages is None) == (chat_id in hidden)
    assert data["transcripts"]["n_withheld"] == len(hidden) > 0
    # nor their summaries (issue 15, item 7e): not in the data, the search,
    # the samples or the map's hover text
    table = pipe[-1].conversation_frame()
    for chat_id, summary in zip(
        data["conversations"]["chat_id"], data["conversations"]["summary"]
    ):
        withheld = summary == "(withheld: below the privacy thresholds)"
        assert withheld == (chat_id in hidden)
    strings = " ".join(_strings(data))
    shown = {c for c in table.index if c not in hidden}
    for chat_id in hidden:
        text = " ".join(str(table.loc[chat_id, "summary"]).split())[:40]
        if any(text in str(table.loc[c, "summary"]) for c in shown):
            continue  # the same words in a shown conversation
        assert text not in strings and html.escape(text)[:30] not in strings, chat_id


def test_unscrubbed_pipeline_gives_unscrubbed_transcripts(conversations):
    pipe = make_kura_pipeline().set_params(summarize__scrub_pii=False)
    pipe.fit(conversations[-10:])
    data = _data(report_html(pipe, conversations=conversations))
    assert data["transcripts"]["scrubbed"] is False
    assert "not scrubbed" in data["transcripts"]["note"]
    row = data["conversations"]["chat_id"].index("pii-0")
    assert PLANTED["email"] in data["transcripts"]["messages"][row][0][1]


def test_metadata_filters_skip_ids_and_constants(page, conversations):
    data = _data(page)
    facets = {f["key"]: f for f in data["facets"]}
    # the sample's metadata: topic and language are categories; user_id has
    # too many values and source only one
    assert set(facets) == {"languages", "metadata.language", "metadata.topic"}
    topic = facets["metadata.topic"]
    by_id = {c.chat_id: c.metadata.get("topic") for c in conversations}
    for chat_id, code in zip(data["conversations"]["chat_id"], topic["codes"]):
        expected = by_id[chat_id]
        assert (topic["values"][code] if code >= 0 else None) == expected
    assert sum(topic["counts"]) == sum(v is not None for v in by_id.values())


def test_times_and_trends_come_from_trends_table(fitted, conversations, page):
    data = _data(page)
    time = data["time"]
    table = conversations_table(fitted)
    trends = trends_table(table, conversations)
    assert time["trends"]["freq"] == trends.attrs["freq"]
    assert len(time["trends"]["periods"]) == trends["period"].nunique()
    for cluster_id, rows in trends.groupby("cluster_id"):
        assert time["trends"]["counts"][cluster_id] == rows["count"].tolist()
    growth = growth_table(trends).head(10)
    assert [g["cluster"] for g in time["trends"]["growth"]] == growth[
        "cluster_id"
    ].tolist()
    # each conversation's day; the planted ones carry no time
    row = data["conversations"]["chat_id"].index("sample-0001")
    assert time["day"][row] == 20090  # 2025-01-02
    assert time["day"][data["conversations"]["chat_id"].index("pii-0")] is None
    assert time["first"] == "2025-01-02"


def test_cli_transcripts_flag(tmp_path, conversations):
    path = tmp_path / "chats.jsonl"
    path.write_text(
        "".join(c.model_dump_json() + "\n" for c in conversations[:30]),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert (
        main(["run", str(path), "--out", str(out), "-q", "--transcripts", "omit"]) == 0
    )
    data = _data((out / "report.html").read_text(encoding="utf-8"))
    assert data["transcripts"]["included"] is False
    # the run hands the conversations to the report: metadata and times
    assert "metadata.topic" in {f["key"] for f in data["facets"]}
    assert data["time"] is not None
    # a settings file may set it too, and is checked before the fit
    config = tmp_path / "kura.toml"
    config.write_text('transcripts = "all"\n')
    assert main(["run", str(path), "--out", str(out), "--config", str(config)]) == 2


def _strings(obj):
    """Every string in a JSON-ready object, hover text included."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from _strings(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from _strings(value)
