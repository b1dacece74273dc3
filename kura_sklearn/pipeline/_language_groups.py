"""Parents that group conversations by language rather than by topic, named so.

An embedding model that reads one language well (the default reads English)
places other languages' conversations near each other whatever they are
about, so a parent can gather, say, every Spanish and Portuguese conversation
of a mostly English corpus. Its children then share no phrase, and the
offline namer could only join two of their names ("Traduzco al inglés ... ·
Tenho uma planilha ..."), which reads as neither. Such a name is led by what
the members do share, their language ("In Spanish and Portuguese: ..."), and
the description says why they are together.
"""

from collections import Counter
from dataclasses import replace

from ..hierarchy import ClusterTree
from ..naming import JOINED


def name_language_groups(
    tree, labels, languages, *, min_share=0.8, max_corpus_share=0.5, max_languages=3
):
    """``tree`` with its language groups named by their languages.

    A parent is a language group when its name joins two children's names
    (no phrase covered it), when at most ``max_languages`` languages are the
    first language of at least ``min_share`` of its members, and when those
    languages are at most ``max_corpus_share`` of the whole input: a group
    apart from the rest by language, not the input's own language (a corpus
    all in Spanish never has its clusters renamed "in Spanish"). LLM names
    are left as written.

    Parameters
    ----------
    tree : ClusterTree
    labels : ndarray of shape (n_samples,)
        Base cluster of each conversation, -1 for noise.
    languages : list of list of str or None
        Each conversation's languages, most used first (the summarizer's
        ``languages`` facet); None leaves the tree as it is.
    min_share, max_corpus_share : float, default=0.8, 0.5
    max_languages : int, default=3

    Returns
    -------
    tree : ClusterTree
    """
    if languages is None:
        return tree
    first = [ls[0] if ls else None for ls in languages]
    known = [lang for lang in first if lang is not None]
    if not known:
        return tree
    corpus = Counter(known)
    rows = tree.member_rows(labels)
    clusters = []
    for cluster in tree:
        changes = {}
        if (
            cluster.level > 0
            and cluster.name_source == "offline"
            and JOINED in cluster.name
        ):
            counts = Counter(first[i] for i in rows[cluster.id] if first[i])
            group = _dominant(counts, cluster.count, min_share, max_languages)
            share = sum(corpus[lang] for lang in group) / len(known)
            if group and share <= max_corpus_share:
                changes = _language_name(group, counts, cluster)
        clusters.append(replace(cluster, **changes) if changes else cluster)
    return ClusterTree(clusters)


def _dominant(counts, size, min_share, max_languages):
    """The fewest most common languages that cover ``min_share`` of ``size``."""
    group, covered = [], 0
    for lang, n in counts.most_common(max_languages):
        group.append(lang)
        covered += n
        if covered >= min_share * size:
            return group
    return []


def _language_name(group, counts, cluster):
    names = [lang.capitalize() for lang in group]
    listed = (
        names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    )
    shares = ", ".join(
        f"{name} {counts[lang] / cluster.count:.0%}" for name, lang in zip(names, group)
    )
    return {
        "name": f"In {listed}: {cluster.name}",
        "description": (
            f"Conversations in {listed} ({shares}), on topics their sub-clusters "
            "do not share: the embedding model placed them together by language "
            "more than by topic (a multilingual model, docs/embedding.md, groups "
            "them by topic)."
        ),
    }
