"""Clio's privacy thresholds on a fitted tree: withhold what too few people wrote.

Applied in ``fit``, so that the text written from a small group's
conversations is stored nowhere in the fitted clusterer: no view of the tree
(tables, report, a notebook reading ``clusters_``) can show it by forgetting
to apply the threshold.
"""

from dataclasses import replace

from ..hierarchy import ClusterTree
from ..utils import count_of, group_indices


def withhold(
    tree,
    labels,
    *,
    users=None,
    privacy_scores=None,
    min_cluster_size=1,
    min_unique_users=1,
):
    """``tree`` with the clusters below the privacy thresholds withheld.

    A withheld cluster keeps its place, members and counts, but its name and
    description become a notice and its keywords are dropped (``hidden``).

    Parameters
    ----------
    tree : ClusterTree
        As named.
    labels : ndarray of shape (n_samples,)
        Base cluster of each training conversation, -1 for noise.
    users : list of hashable or None, default=None
        The user of each conversation; None when the input named none.
    privacy_scores : list of int or None, default=None
        An auditor's 1-5 rating per cluster (None where unrated); below 3
        withholds the cluster.
    min_cluster_size, min_unique_users : int, default=1
        Fewer conversations, or fewer distinct users, withhold a cluster.
        Without ``users`` every conversation counts as its own user.

    Returns
    -------
    tree : ClusterTree
        With ``hidden``, ``n_users`` and ``privacy_score`` set.
    """
    if privacy_scores is None:
        privacy_scores = [None] * len(tree)
    rows = tree.member_rows(labels) if users is not None else None
    clusters = []
    for cluster, score in zip(tree, privacy_scores):
        n_users = None if users is None else len({users[i] for i in rows[cluster.id]})
        changes = {"n_users": n_users, "privacy_score": score}
        changes.update(
            _notice(cluster.count, n_users, score, min_cluster_size, min_unique_users)
            or {"hidden": False}
        )
        clusters.append(replace(cluster, **changes))
    return ClusterTree(clusters)


def withhold_base_names(
    names, labels, *, users=None, min_cluster_size=1, min_unique_users=1
):
    """Base-cluster names with those below the thresholds already withheld.

    Applied before the hierarchy is built, so that a withheld cluster's name
    never reaches its parent's name (the offline namer may join two
    children's names) or an LLM's merge prompt.

    Parameters
    ----------
    names : list of ClusterName
        Base cluster ``c``'s name at ``names[c]``.
    labels : ndarray of shape (n_samples,)
    users : list of hashable or None, default=None
    min_cluster_size, min_unique_users : int, default=1

    Returns
    -------
    names : list of ClusterName
    """
    # one stable sort for all clusters, not a pass over the labels per cluster
    rows = group_indices(labels, range(len(names)))
    out = []
    for name, members in zip(names, rows):
        n_users = None if users is None else len({users[i] for i in members})
        notice = _notice(
            len(members), n_users, None, min_cluster_size, min_unique_users
        )
        if notice:
            name = replace(
                name,
                name=notice["name"],
                description=notice["description"],
                keywords=(),
                source="withheld",
            )
        out.append(name)
    return out


def _notice(count, n_users, score, min_cluster_size, min_unique_users):
    """The withheld name, description and flags of a cluster, or None."""
    if n_users is None:
        # one user per conversation
        few_users = min_unique_users > 1 and count < min_unique_users
    else:
        few_users = n_users < min_unique_users
    flagged = score is not None and score < 3
    if not (count < min_cluster_size or few_users or flagged):
        return None
    size = count_of(count, "conversation")
    if flagged:
        name = f"Withheld cluster ({size})"
        description = f"Withheld: the privacy auditor rated it {score} of 5."
    else:
        name = f"Small cluster ({size})"
        if few_users:
            reason = f"{min_unique_users} distinct users"
        else:
            reason = f"{min_cluster_size} conversations"
        description = f"Withheld: fewer than {reason}, below the privacy threshold."
    return {"hidden": True, "name": name, "description": description, "keywords": ()}
