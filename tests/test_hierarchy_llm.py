"""The LLM hierarchy procedure (issue 13, item 2), checked from the requests.

Every test runs against the loopback OpenAI-compatible server, which records
the requests it receives. With ``choice_tag`` and ``match_words`` its fake
model answers from the request's content: it proposes and deduplicates names
drawn from the ``<cluster>`` and ``<name>`` elements it is shown, and assigns
each cluster to the category sharing most words with it, or "None of these".
"""

import re
import zlib

import numpy as np
import pytest
from _loopback import on_server

from kura_sklearn.hierarchy import build_hierarchy, level_target, plan_levels
from kura_sklearn.llm import LLMBatchError
from kura_sklearn.llm._prompts import NONE_OF_THESE
from kura_sklearn.naming import ClusterName, LLMNamer

MEANINGFUL = {"match_words": True, "choice_tag": ["cluster", "name"]}
_ELEMENT = re.compile(r"<(cluster|category|name)(?: id=\"([\w]+)\")?>(.*?)</\1>")


def llm_namer(server, **params):
    params.setdefault("max_retries", 1)
    params.setdefault("max_concurrency", 20)
    return LLMNamer("test-model", **on_server(server, **params))


def embed(texts, dim=256):
    """A local, deterministic embedder: hashed word counts, L2-normalised."""
    out = np.zeros((len(texts), dim))
    for row, text in enumerate(texts):
        for word in re.findall(r"[a-z]+", text.lower()):
            out[row, zlib.crc32(word.encode()) % dim] += 1
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1, norms)


def topic_children(n, n_topics=8, seed=0):
    """``n`` cluster names over ``n_topics`` topics of made-up words."""
    rng = np.random.RandomState(seed)
    letters = np.array(list("bcdfghjklmnprstvz"))
    topics = [
        ["".join(rng.choice(letters, 6)) for _ in range(12)] for _ in range(n_topics)
    ]
    children = []
    for i in range(n):
        words = rng.choice(topics[i % n_topics], 4, replace=False)
        children.append(
            ClusterName(f"Help with {' '.join(words)}", f"Users asked {words[0]}.")
        )
    return children


def build(server, children, **params):
    texts = [c.name for c in children]
    tree, calls = build_hierarchy(
        children,
        np.arange(len(children)),  # one conversation per base cluster
        texts,
        embed(texts),
        namer=llm_namer(server, **params),
        embed_names=embed,
        max_clusters=10,
        max_levels=5,
        random_state=0,
    )
    return tree, calls


def records(server, schema_name):
    return [r for r in server.requests() if r["schema_name"] == schema_name]


def prompt_of(record):
    return record["request"]["messages"][-1]["content"]


def block(prompt, tag):
    """Elements (id, text) inside the ``<tag>...</tag>`` block of a prompt."""
    inner = re.search(rf"<{tag}>\n(.*?)\n</{tag}>", prompt, re.DOTALL)
    if inner is None:
        return []
    return [(m.group(2), m.group(3)) for m in _ELEMENT.finditer(inner.group(1))]


def schema_of(record):
    return record["request"]["response_format"]["json_schema"]["schema"]


def test_level_plan_for_100_1000_and_10000_base_clusters():
    # A fixed ratio of about ten children per parent, as Clio's 1,000 -> 100
    # -> 10: 1, 2 and 3 meta levels, each with a band of 0.5x to 1.5x (the
    # top level at most max_clusters). The loop walks these targets.
    def targets(n_base):
        n_levels = len(plan_levels(n_base, 10, 5))
        out, n = [], n_base
        for level in range(1, n_levels + 1):
            target, low, high = level_target(n, 10, n_levels - level + 1)
            assert low == -(-target // 2) and high <= max(10, 1.5 * target)
            out.append(target)
            n = target
        return out

    assert targets(100) == [10]
    assert targets(1_000) == [100, 10]
    assert targets(10_000) == [1_000, 100, 10]
    assert level_target(1_000, 10, 2) == (100, 50, 150)
    assert level_target(100, 10, 1) == (10, 5, 10)


@pytest.mark.parametrize("n_base, n_levels", [(100, 1), (1_000, 2)])
def test_meta_levels_and_one_deduplication_call_per_level(fake_llm, n_base, n_levels):
    # Against the server: 100 base clusters make one meta level, 1,000 make
    # two (the old loop: 4 and 5 with a model proposing ceil(g/2) parents).
    # Each level's calls come in order: proposals, ONE deduplication over
    # all of them, assignments, renames.
    fake_llm.configure(record_requests=True, **MEANINGFUL)
    nodes, calls = build(fake_llm, topic_children(n_base))
    assert max(node.level for node in nodes) == n_levels == len(calls)
    roots = [node for node in nodes if node.parent_id is None]
    assert len(roots) <= 10
    # built by the LLM's answers, not replaced by the offline merge (at the
    # top, outliers that would pass max_clusters join their nearest parent)
    assert {node.name_source for node in nodes if node.level > 0} == {"llm"}
    letters = {
        "ProposedParents": "P",
        "DeduplicatedParents": "D",
        "ParentAssignment": "A",
        "RenamedParents": "R",
    }
    sequence = "".join(letters[r["schema_name"]] for r in fake_llm.requests())
    assert re.fullmatch(r"(P+DA+R*)" * n_levels, sequence), sequence
    assert sequence.count("D") == n_levels
    # a deduplication call sees every proposal of its level
    for level_seq, dedup in zip(
        re.findall(r"P+DA+R*", sequence), records(fake_llm, "DeduplicatedParents")
    ):
        assert len(block(prompt_of(dedup), "names")) >= level_seq.count("P")


def test_neighbourhoods_of_40_with_the_nearest_outside_clusters_as_context(
    fake_llm,
):
    fake_llm.configure(record_requests=True, **MEANINGFUL)
    build(fake_llm, topic_children(120))  # two levels: 120 -> 35 -> 10
    first = []
    for record in fake_llm.requests():
        if record["schema_name"] == "DeduplicatedParents":
            break
        first.append(record)
    proposals = [r for r in first if r["schema_name"] == "ProposedParents"]
    assert len(proposals) == 3  # 120 clusters, neighbourhoods of about 40
    for record in proposals:
        own = {text for _, text in block(prompt_of(record), "clusters")}
        context = [text for _, text in block(prompt_of(record), "context")]
        assert len(context) == 10 and not own & set(context)
        # about its share of the level's target (35 x 40 / 120), in a band
        names = schema_of(record)["properties"]["names"]
        share = 35 * len(own) / 120
        assert names["minItems"] <= round(share) <= names["maxItems"]
        assert names["minItems"] >= share / 2 and names["maxItems"] <= 1.5 * share


def test_candidates_are_shuffled_by_the_seed(fake_llm):
    # One neighbourhood, so the candidates are the same whatever the seed;
    # their order (in the prompt and in the schema's enum) follows the seed.
    children = topic_children(30)
    vectors = embed([f"{c.name}: {c.description}" for c in children])
    fake_llm.configure(record_requests=True, **MEANINGFUL)
    orders = []
    for seed in (0, 1, 2, 0):
        fake_llm.reset()
        fake_llm.configure(record_requests=True, **MEANINGFUL)
        llm_namer(fake_llm).merge_round(
            children, vectors, [["x"]] * 30, 10, embed=embed, random_state=seed
        )
        (assign,) = records(fake_llm, "ParentAssignment")
        shown = [text for _, text in block(prompt_of(assign), "categories")]
        enum = schema_of(assign)["$defs"]["Category"]["enum"]
        assert enum == shown + [NONE_OF_THESE]
        orders.append(shown)
    assert orders[0] == orders[3]  # the same seed, the same order
    assert all(sorted(o) == sorted(orders[0]) for o in orders)
    assert len({tuple(o) for o in orders}) == 3


def _proposed_by(server):
    """Each proposal call's clusters and the names it proposed."""
    out = []
    for record in records(server, "ProposedParents"):
        import json

        own = {text for _, text in block(prompt_of(record), "clusters")}
        names = json.loads(record["answer"])["names"]
        out.append((own, {name.rstrip(".") for name in names}))  # as shortened
    return out


def _assigned(server):
    """(cluster text, chosen category) for every child of every assignment."""
    import json

    pairs = []
    for record in records(server, "ParentAssignment"):
        answer = json.loads(record["answer"])
        for key, text in block(prompt_of(record), "clusters"):
            pairs.append((text, answer[key]))
    return pairs


def test_a_child_joins_a_parent_proposed_in_another_neighbourhood(fake_llm):
    # Two topics, 20 clusters each, far apart in the vectors; one cluster
    # about the second topic sits among the first topic's (its vector), so
    # its neighbourhood proposes first-topic names. Offered the nearest
    # deduplicated names, wherever proposed, it joins a second-topic parent
    # that the other neighbourhood proposed.
    children = topic_children(40, n_topics=2)
    vectors = np.zeros((40, 2))
    vectors[0::2, 0] = 1.0  # topic 0
    vectors[1::2, 1] = 1.0  # topic 1
    vectors[1] = [1.0, 0.0]  # a topic-1 cluster among topic 0's
    vectors += np.random.RandomState(0).normal(scale=0.01, size=vectors.shape)
    fake_llm.configure(record_requests=True, **MEANINGFUL)
    # the first topic's neighbourhood proposes first-topic names only (a
    # model may well not name its one odd cluster)
    import json

    topic0 = [children[i].name for i in (0, 2, 4)]
    fake_llm.script_answer(children[0].name, json.dumps({"names": topic0}))
    assignment, parents, _ = llm_namer(
        fake_llm, neighbourhood_size=20, context_size=0
    ).merge_round(children, vectors, [["x"]] * 40, 6, random_state=0)
    proposed = _proposed_by(fake_llm)
    assert len(proposed) == 2
    crossed = []
    for text, chosen in _assigned(fake_llm):
        (own,) = [names for members, names in proposed if text in members]
        (other,) = [names for members, names in proposed if text not in members]
        if chosen in other and chosen not in own:
            crossed.append(text)
    assert crossed
    bridge = f"{children[1].name}: {children[1].description}"
    assert bridge in crossed
    # in the result too: it shares its parent with clusters of its own topic
    together = [i for i, a in enumerate(assignment) if a == assignment[1]]
    assert any(i % 2 == 1 for i in together if i != 1)


def test_none_of_these_leaves_the_child_a_group_of_its_own(fake_llm):
    # Two topics and one outlier that shares no word with either (far away
    # in the vectors too, so alone in its neighbourhood, which proposes
    # nothing): it answers "None of these" and is not forced into a wrong
    # parent.
    children = topic_children(8, n_topics=2)
    children.append(ClusterName("Translate medieval poetry", "Users asked that."))
    vectors = np.zeros((9, 3))
    vectors[np.arange(8), np.arange(8) % 2] = 1.0
    vectors[8, 2] = 1.0
    vectors += np.random.RandomState(0).normal(scale=0.01, size=vectors.shape)
    fake_llm.configure(record_requests=True, **MEANINGFUL)
    assignment, parents, _ = llm_namer(
        fake_llm, neighbourhood_size=4, context_size=0
    ).merge_round(children, vectors, [["x"]] * 9, 6, random_state=0)
    answers = dict(_assigned(fake_llm))
    outlier = [t for t in answers if t.startswith("Translate medieval")]
    assert answers[outlier[0]] == NONE_OF_THESE
    assert not any(
        text.startswith("Translate medieval")
        for members, _ in _proposed_by(fake_llm)
        for text in members
    )
    assert assignment.count(assignment[8]) == 1  # alone in its group
    assert parents[assignment[8]] == children[8]
    assert sum(answers[t] != NONE_OF_THESE for t in answers) >= 4  # the others join


def _enum_sizes(node, root, out):
    if isinstance(node, dict):
        if "$ref" in node:
            ref = node["$ref"].split("/")[-1]
            _enum_sizes(root["$defs"][ref], root, out)
        if "enum" in node:
            out.append(len(node["enum"]))
        if "const" in node:
            out.append(1)
        for key, value in node.items():
            if key != "$defs":
                _enum_sizes(value, root, out)
    elif isinstance(node, list):
        for value in node:
            _enum_sizes(value, root, out)


@pytest.mark.parametrize("settings", [{}, MEANINGFUL], ids=["random", "meaningful"])
def test_no_request_has_one_possible_answer(fake_llm, settings):
    # Every enum offers two values at least; no neighbourhood of one cluster
    # is asked to propose; nothing is deduplicated from fewer than two names.
    fake_llm.configure(record_requests=True, **settings)
    build(fake_llm, topic_children(100))
    assert fake_llm.requests()
    for record in fake_llm.requests():
        schema = schema_of(record)
        sizes = []
        _enum_sizes(schema, schema, sizes)
        assert all(size >= 2 for size in sizes), record["schema_name"]
        if record["schema_name"] == "ProposedParents":
            assert len(block(prompt_of(record), "clusters")) >= 2
        if record["schema_name"] == "DeduplicatedParents":
            assert len(block(prompt_of(record), "names")) >= 2


def test_failed_calls_fall_back_and_the_loop_terminates(fake_llm):
    # on_error="fallback": a failed deduplication keeps the proposals; failed
    # assignments merge those children offline (names marked "fallback");
    # the tree is still bounded. on_error="raise" raises.
    children = topic_children(100)
    fake_llm.configure(
        record_requests=True,
        permanent_fault_marker=["proposed by several groups", "None of these"],
        **MEANINGFUL,
    )
    nodes, calls = build(fake_llm, children, max_retries=0)
    roots = [node for node in nodes if node.parent_id is None]
    assert 0 < len(roots) <= 10 and max(node.level for node in nodes) == 1
    assert {node.name_source for node in nodes if node.level == 1} == {"fallback"}
    assert all(len(node.children) != 1 for node in nodes)
    with pytest.raises(LLMBatchError):
        build(fake_llm, children, max_retries=0, on_error="raise")


@pytest.mark.parametrize("settings", [{}, MEANINGFUL], ids=["random", "meaningful"])
def test_several_topics_do_not_end_in_one_dominant_root(fake_llm, settings):
    # Eight topics: the roots split them; none holds most of the data,
    # whether the model answers sensibly or at random (a level outside its
    # band falls back to the size-weighted merge).
    fake_llm.configure(**settings)
    nodes, _ = build(fake_llm, topic_children(200))
    roots = [node for node in nodes if node.parent_id is None]
    assert len(roots) >= 4
    assert max(node.count for node in roots) < 0.5 * 200
