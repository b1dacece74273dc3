"""Privacy layers (issue 15, item 7): PII scrubbing and distinct users per cluster."""

import json
import re
from importlib.resources import files

import pandas as pd
import pytest

from kura_sklearn import (
    Conversation,
    ConversationClusterer,
    ConversationSummarizer,
    KMeansClusterer,
    load_conversations,
)
from kura_sklearn.cli import main
from kura_sklearn.persistence import load
from kura_sklearn.privacy import scrub_pii, track_pii_removed

SAMPLE = str(files("kura_sklearn.datasets") / "data" / "sample_conversations.jsonl")


@pytest.mark.parametrize(
    "text, expected, kind",
    [
        ("write to ana.ruiz@example.org today", "write to [EMAIL] today", "email"),
        ("call +1 415 555 0132 please", "call [PHONE] please", "phone"),
        ("my number is (415) 555-0132", "my number is [PHONE]", "phone"),
        ("ring 020 7946 0958 after six", "ring [PHONE] after six", "phone"),
        ("card 4111 1111 1111 1111 declined", "card [CARD] declined", "card"),
        ("card 5500-0000-0000-0004 declined", "card [CARD] declined", "card"),
        ("IBAN DE89 3704 0044 0532 0130 00 ok", "IBAN [IBAN] ok", "iban"),
        ("host 192.168.10.20 is down", "host [IP] is down", "ip"),
        ("see https://ex.com/u/jsmith?id=4 now", "see [URL] now", "url"),
        ("account 12345678 frozen", "account [NUMBER] frozen", "number"),
        ("My name is Zelda and I cook", "My name is [NAME] and I cook", "name"),
        ("Hi, I'm Ana Ruiz from sales", "Hi, I'm [NAME] from sales", "name"),
        ("Dear Mr. Smith, thanks", "Dear Mr. [NAME], thanks", "name"),
    ],
)
def test_scrub_pii_replaces_each_kind(text, expected, kind):
    scrubbed, counts = scrub_pii(text)
    assert scrubbed == expected
    assert counts == {kind: 1}


@pytest.mark.parametrize(
    "text",
    [
        "I am using Visual Studio on Windows 11",
        "This is Python code from 2024",
        "order 2024 1234 came to 15.99 euros",
        "card 4111 1111 1111 1112 (fails the Luhn check)",
        "version 10.2.3.4567 and port 8080",
        "rows where DATE(created_at) = '2025-05-02' or 02-05-2025 or 02.05.2025",
        "how do I sort a dict by value in Python?",
        "see www.python.org",  # a bare domain names no one
    ],
)
def test_scrub_pii_leaves_ordinary_text(text):
    # false positives would cost insight: numbers, versions and capitalised
    # words that are not names stay
    assert scrub_pii(text) == (text, {})


def test_track_pii_removed_counts_inside_the_block_only():
    scrub_pii("bo@example.com")  # not tracked
    with track_pii_removed() as outer:
        scrub_pii("bo@example.com and cy@example.com")
        with track_pii_removed() as inner:
            scrub_pii("call +44 20 7946 0958")
    assert dict(outer) == {"email": 2, "phone": 1}
    assert dict(inner) == {"phone": 1}


# planted private data: what must never reach any output
PLANTED = {
    "email": "zelda.quixote@example.org",
    "phone": "+1 415 555 0132",
    "phone_gb": "020 7946 0958",
    "card": "4111 1111 1111 1111",
    "card_dashed": "5500-0000-0000-0004",
    "iban": "DE89 3704 0044 0532 0130 00",
    "name": "Quixote",
}
# specific enough not to occur by chance in the report's scripts or in hashes
NEEDLES = [
    "zelda.quixote",
    "example.org",
    "415 555",
    "4155550132",
    "7946 0958",
    "4111 1111",
    "4111111111111111",
    "5500-0000",
    "DE89 3704",
    "Quixote",
]


def _planted_conversations():
    texts = [
        "My card {card} was charged twice, please refund it. "
        "Reach me at {email} or {phone}.",
        "I lost my card {card_dashed}, how do I block it? My name is Zelda {name}.",
        "Transfer to IBAN {iban} failed, call me on {phone_gb}.",
        "Hi, I'm Zelda {name}. My card {card} was declined abroad.",
        "Refund not received for card {card}, e-mail {email}",
        "Please update my phone to {phone} and my e-mail to {email}.",
    ]
    return [
        {
            "chat_id": f"pii-{i}",
            "messages": [
                {"role": "user", "content": text.format(**PLANTED)},
                {"role": "assistant", "content": "I can help with that."},
            ],
        }
        for i, text in enumerate(texts * 2)
    ]


@pytest.fixture(scope="module")
def planted_input(tmp_path_factory):
    path = tmp_path_factory.mktemp("pii") / "convs.jsonl"
    sample = [c.model_dump(mode="json") for c in load_conversations(SAMPLE)[:48]]
    with open(path, "w", encoding="utf-8") as file:
        for row in sample + _planted_conversations():
            file.write(json.dumps(row) + "\n")
    return path


def _leaks(out):
    """Needles found in any output file, or in the fitted pipeline's texts."""
    found = set()
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found.update(n for n in NEEDLES if n.encode() in data)
    pipe = load(out / "pipeline.joblib")
    clusterer = pipe[-1]
    texts = list(clusterer.summaries_) + [
        str(v) for values in clusterer.facets_.values() for v in values
    ]
    for cluster in clusterer.clusters_:
        texts += [cluster.name, cluster.description, *cluster.keywords]
    found.update(n for n in NEEDLES if any(n in t for t in texts))
    return found


def test_planted_pii_reaches_no_table_report_cache_or_model(planted_input, tmp_path):
    # issue 15, done-when: e-mail addresses, phone numbers and card numbers
    # fed through the offline pipeline are in none of its outputs
    out = tmp_path / "out"
    assert main(["run", str(planted_input), "--out", str(out), "-q"]) == 0
    assert _leaks(out) == set()
    record = json.loads((out / "run.json").read_text())
    removed = record["pii_removed"]
    assert removed["email"] >= 6 and removed["card"] >= 8 and removed["phone"] >= 6
    assert removed["iban"] >= 2 and removed["name"] >= 4
    table = pd.read_parquet(out / "conversations.parquet").set_index("chat_id")
    assert "[CARD]" in table.loc["pii-0", "summary"]
    # the report carries the conversations themselves, scrubbed the same way
    page = (out / "report.html").read_text(encoding="utf-8")
    (block,) = re.findall(r'id="report-data">(.*?)</script>', page, re.S)
    data = json.loads(block)
    row = data["conversations"]["chat_id"].index("pii-0")
    assert data["transcripts"]["included"]
    assert "[CARD]" in data["transcripts"]["messages"][row][0][1]


def test_without_scrubbing_the_planted_pii_leaks(planted_input, tmp_path):
    # the check above has teeth: with scrubbing off, the same run leaks
    out = tmp_path / "out"
    args = ["run", str(planted_input), "--out", str(out), "-q", "--no-scrub-pii"]
    assert main(args) == 0
    assert {"zelda.quixote", "4111 1111", "Quixote"} <= _leaks(out)
    assert json.loads((out / "run.json").read_text())["pii_removed"] == {}


def test_summarizer_scrubs_by_default_and_validates_the_flag():
    conv = Conversation(
        chat_id="a",
        messages=[{"role": "user", "content": "Email me at bo@example.com today"}],
    )
    assert ConversationSummarizer().transform([conv])[0] == "Email me at [EMAIL] today"
    kept = ConversationSummarizer(scrub_pii=False).transform([conv])[0]
    assert kept == "Email me at bo@example.com today"
    with pytest.raises(ValueError, match="scrub_pii"):
        ConversationSummarizer(scrub_pii="yes").fit([conv])


def _one_user_cluster():
    """Summaries with a user_id column: a bread cluster written by one user."""
    rows = (
        [("reset my password", f"u{i}") for i in range(4)]
        + [("forgot my login password", f"u{i + 4}") for i in range(4)]
        + [("bake sourdough bread", "baker")] * 4
        + [("sourdough bread that will not rise", "baker")] * 4
        + [("translate hello to japanese", f"u{i + 8}") for i in range(4)]
        + [("japanese word for thanks", f"u{i + 12}") for i in range(4)]
    )
    return pd.DataFrame(
        {"summary": [r[0] for r in rows], "user_id": [r[1] for r in rows]},
        index=pd.Index([f"c{i}" for i in range(len(rows))], name="chat_id"),
    )


def _bread_cluster(model):
    (bread,) = [c for c in model.clusters_ if c.level == 0 and "c8" in c.member_ids]
    return bread


def test_min_unique_users_hides_one_users_many_conversations():
    # issue 15, done-when: a cluster of one user's many conversations is
    # withheld, though it has 8 conversations (over min_cluster_size)
    frame = _one_user_cluster()
    params = dict(
        clusterer=KMeansClusterer(n_clusters=3), max_clusters=2, random_state=0
    )
    shown = ConversationClusterer(**params).fit(frame)
    bread = _bread_cluster(shown)
    assert not bread.hidden and bread.n_users == 1 and bread.count == 8
    model = ConversationClusterer(**params, min_cluster_size=3, min_unique_users=2).fit(
        frame
    )
    bread = _bread_cluster(model)
    assert bread.hidden and "sourdough" not in bread.name.lower()
    assert "distinct users" in bread.description
    assert not bread.keywords
    others = [c for c in model.clusters_ if c.level == 0 and c.id != bread.id]
    assert all(not c.hidden and c.n_users == 8 for c in others)
    # issue 15, item 7e: the withheld name never reaches a parent's name,
    # which calls it "Other"
    assert not any("sourdough" in c.name.lower() for c in model.clusters_)
    parent = model.clusters_[bread.parent_id]
    assert parent.name.endswith(" · Other") and "Small cluster" not in parent.name
    assert bread.name_source == "withheld"


def test_without_user_ids_each_conversation_counts_as_a_user():
    frame = _one_user_cluster().drop(columns="user_id")
    model = ConversationClusterer(
        clusterer=KMeansClusterer(n_clusters=3),
        max_clusters=2,
        min_unique_users=2,
        random_state=0,
    ).fit(frame)
    assert not any(c.hidden for c in model.clusters_)
    assert all(c.n_users is None for c in model.clusters_)


def test_user_id_key_carries_users_through_the_pipeline():
    from sklearn.pipeline import Pipeline

    convs = [
        Conversation(
            chat_id=f"c{i}",
            messages=[{"role": "user", "content": text}],
            metadata={"account": user} if user else {},
        )
        for i, (text, user) in enumerate(
            [(t, u) for t, u in _one_user_cluster().itertuples(index=False)]
        )
    ]
    convs[0] = convs[0].model_copy(update={"metadata": {}})
    summarizer = ConversationSummarizer(user_id_key="account")
    frame = summarizer.set_output(transform="pandas").transform(convs)
    assert pd.isna(frame["user_id"].iloc[0]) and frame["user_id"].iloc[8] == "baker"
    assert list(summarizer.get_feature_names_out())[-1] == "user_id"
    pipe = Pipeline(
        [
            ("summarize", ConversationSummarizer(user_id_key="account")),
            (
                "cluster",
                ConversationClusterer(
                    clusterer=KMeansClusterer(n_clusters=3),
                    max_clusters=2,
                    min_unique_users=2,
                    random_state=0,
                ),
            ),
        ]
    ).fit(convs)
    assert _bread_cluster(pipe[-1]).hidden


def test_the_samples_one_user_cluster_is_withheld():
    # issue 15, done-when: the bundled sample carries a user_id metadata
    # field, and min_unique_users hides the cluster one user's many
    # conversations make (five fitness questions by u-0042), and only it
    from kura_sklearn import load_sample_conversations, make_kura_pipeline

    conversations = load_sample_conversations()
    users = {c.chat_id: c.metadata["user_id"] for c in conversations}
    assert len(set(users.values())) > 100
    pipe = make_kura_pipeline(random_state=0).set_params(
        summarize__user_id_key="user_id", cluster__min_unique_users=2
    )
    pipe.fit(conversations)
    base = [c for c in pipe[-1].clusters_ if c.level == 0]
    one_user = [c for c in base if len({users[m] for m in c.member_ids}) == 1]
    assert one_user and all(len(c.member_ids) >= 3 for c in one_user)
    assert {c.id for c in base if c.hidden} == {c.id for c in one_user}
    assert all(users[m] == "u-0042" for c in one_user for m in c.member_ids)


def test_llm_answer_is_scrubbed(fake_llm):
    # a model that ignores the prompt's privacy rule and quotes the user's
    # e-mail and card: the answer is scrubbed before it reaches any output
    from _loopback import on_server

    answer = {
        "summary": "The user (ana@example.org) disputes card 4111 1111 1111 1111.",
        "request": "The user's overall request is to call back +1 415 555 0132.",
        "task": "Dispute a charge.",
        "languages": ["english"],
        "programming_languages": [],
        "concerning_score": 1,
        "user_frustration": 2,
        "assistant_errors": ["Sent the form to ana@example.org"],
    }
    fake_llm.script_answer("PLANTED-MARKER", [json.dumps(answer)] * 2)
    conv = Conversation(
        chat_id="a",
        messages=[{"role": "user", "content": "PLANTED-MARKER dispute my charge"}],
    )
    summarizer = ConversationSummarizer(
        model="test-model", **on_server(fake_llm)
    ).set_output(transform="pandas")
    with track_pii_removed() as removed:
        row = summarizer.transform([conv]).loc["a"]
    assert row["summary"] == "The user ([EMAIL]) disputes card [CARD]."
    assert row["request"].endswith("call back [PHONE].")
    assert row["assistant_errors"] == ["Sent the form to [EMAIL]"]
    assert dict(removed) == {"email": 2, "card": 1, "phone": 1}
    raw = ConversationSummarizer(
        model="test-model", scrub_pii=False, **on_server(fake_llm)
    ).transform([conv])
    assert "ana@example.org" in raw[0]


def _audit_answer(rating):
    return json.dumps({"justification": "Checked the text.", "rating": rating})


def _llm_namer(server, **params):
    from _loopback import on_server

    from kura_sklearn.naming import LLMNamer

    params.setdefault("max_retries", 1)
    return LLMNamer("test-model", **on_server(server, **params))


def test_privacy_auditor_rates_each_name_and_description(fake_llm):
    # Clio's auditor: one call per cluster, the name and description in the
    # prompt (escaped), the justification asked for before the rating
    from kura_sklearn.naming import ClusterName

    fake_llm.script_answer("Zelda Quixote", [_audit_answer(1)])
    names = [
        ClusterName("Help Zelda Quixote restore her <b>account</b>", "About her."),
        ClusterName("Debug memory leaks in C++ services", "Leaks in services."),
    ]
    ratings, n_calls = _llm_namer(fake_llm, audit_privacy=True).audit_clusters(names)
    assert ratings[0] == 1 and 1 <= ratings[1] <= 5 and n_calls == 2
    with pytest.raises(ValueError, match="audit_privacy"):
        _llm_namer(fake_llm, audit_privacy="yes").audit_clusters(names)


def test_clusters_rated_below_3_are_withheld(fake_llm):
    texts = [
        "reset my password",
        "forgot my login password",
        "bake sourdough bread",
        "bread that will not rise",
        "translate hello to japanese",
        "japanese word for thanks",
    ] * 2
    params = dict(clusterer=KMeansClusterer(n_clusters=3), max_clusters=2)
    plain = ConversationClusterer(namer=_llm_namer(fake_llm), **params)
    plain.fit(texts)
    assert all(c.privacy_score is None for c in plain.clusters_)
    assert "audit" not in plain.n_llm_calls_
    n_clusters = len(plain.clusters_)
    # the first audit answer rates a cluster 1, every later one 5
    fake_llm.script_answer(
        "You audit the privacy",
        [_audit_answer(1)] + [_audit_answer(5)] * (n_clusters - 1),
    )
    model = ConversationClusterer(
        namer=_llm_namer(fake_llm, audit_privacy=True), **params
    ).fit(texts)
    assert sorted(c.privacy_score for c in model.clusters_) == [1] + [5] * (
        n_clusters - 1
    )
    (withheld,) = [c for c in model.clusters_ if c.hidden]
    assert withheld.privacy_score == 1
    assert withheld.description == "Withheld: the privacy auditor rated it 1 of 5."
    assert not withheld.keywords
    assert model.n_llm_calls_["audit"] == n_clusters
