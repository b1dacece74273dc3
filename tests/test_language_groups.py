"""Parents that group conversations by language, not topic, are named so."""

from kura_sklearn.hierarchy import Cluster, ClusterTree
from kura_sklearn.pipeline._language_groups import name_language_groups

# base clusters 0-2 (one conversation each) under 6; 3-5 (two each) under 7
LABELS = [0, 1, 2, 3, 3, 4, 4, 5, 5]


def _tree(parent_name="Traduzco esto · Tenho uma planilha", source="offline"):
    ids = [[f"c{i}" for i, k in enumerate(LABELS) if k == c] for c in range(6)]
    base = [Cluster(c, f"base {c}", "", 6 + c // 3, 0, tuple(ids[c])) for c in range(6)]
    return ClusterTree(
        [
            *base,
            Cluster(
                6,
                parent_name,
                "",
                None,
                1,
                sum(map(tuple, ids[:3]), ()),
                (0, 1, 2),
                name_source=source,
            ),
            Cluster(
                7,
                "Email · Python",
                "",
                None,
                1,
                sum(map(tuple, ids[3:]), ()),
                (3, 4, 5),
            ),
        ]
    )


def test_a_group_apart_by_language_is_named_by_it():
    languages = [["spanish"], ["portuguese", "english"], ["spanish"]] + [
        ["english"]
    ] * 6
    tree = name_language_groups(_tree(), LABELS, languages)
    assert tree[6].name == (
        "In Spanish and Portuguese: Traduzco esto · Tenho uma planilha"
    )
    assert tree[6].description.startswith(
        "Conversations in Spanish and Portuguese (Spanish 67%, Portuguese 33%)"
    )
    # the English parent is the corpus's own language: left alone
    assert tree[7].name == "Email · Python"
    assert [c.name for c in tree][:6] == [f"base {i}" for i in range(6)]


def test_the_inputs_own_language_never_renames_a_cluster():
    # all Spanish (a multilingual corpus's majority): no group is apart
    tree = name_language_groups(_tree(), LABELS, [["spanish"]] * 9)
    assert tree[6].name == "Traduzco esto · Tenho uma planilha"


def test_topic_names_llm_names_and_mixed_groups_are_kept():
    languages = [["spanish"]] * 3 + [["english"]] * 6
    topic = name_language_groups(_tree("Traducción"), LABELS, languages)
    assert topic[6].name == "Traducción"  # a phrase covered the children
    llm = name_language_groups(_tree(source="llm"), LABELS, languages)
    assert llm[6].name == "Traduzco esto · Tenho uma planilha"
    mixed = [["spanish"], ["english"], ["french"]] + [["english"]] * 6
    kept = name_language_groups(_tree(), LABELS, mixed)
    assert kept[6].name == "Traduzco esto · Tenho uma planilha"
    assert name_language_groups(_tree(), LABELS, None) == _tree()


def test_the_samples_language_groups_say_their_languages(fitted_sample_pipeline):
    # the default embedder reads English: the sample's Spanish, French... chats
    # gather by language; those roots now say so, the English ones do not
    pipe, _ = fitted_sample_pipeline
    tree = pipe[-1].tree_
    roots = [tree[r] for r in tree.roots]
    grouped = [r for r in roots if r.name.startswith("In ")]
    assert 1 <= len(grouped) < len(roots) // 2
    for root in grouped:
        assert "English" not in root.name.split(":")[0]
        assert root.description.startswith("Conversations in ")
