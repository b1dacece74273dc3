"""What namers share: the name record, slugs, and bounded example sampling."""

import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ClusterName:
    """Name, description and keywords of one cluster.

    Attributes
    ----------
    name : str
        Short imperative name, e.g. "Debug Python list comprehensions".
    description : str
        Two sentences on what the conversations in the cluster asked for.
    keywords : tuple of str
        Distinctive terms (keyword namer only).
    """

    name: str
    description: str
    keywords: tuple = field(default=())


def slugify(text, max_length=60):
    """ASCII, lower-case, hyphen-separated form of ``text`` for ids and URLs.

    Examples
    --------
    >>> from kura_sklearn.naming import slugify
    >>> slugify("Débug Python: list comprehensions!")
    'debug-python-list-comprehensions'
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-") or "cluster"


def centroids(embeddings, labels, cluster_ids):
    """Mean embedding of each cluster, L2-normalised (rows in ``cluster_ids`` order)."""
    out = np.vstack([embeddings[labels == c].mean(axis=0) for c in cluster_ids])
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1, norms)


def sample_examples(member_idx, embeddings, centroid, max_examples, rng):
    """At most ``max_examples`` members: half nearest the centroid, half random.

    The prompt stays bounded however large the cluster is, and shows both
    its typical requests and its range.
    """
    member_idx = np.asarray(member_idx)
    if len(member_idx) <= max_examples:
        return member_idx
    n_central = max(1, max_examples // 2)
    sims = embeddings[member_idx] @ centroid
    order = np.argsort(-sims, kind="stable")
    central = member_idx[order[:n_central]]
    rest = member_idx[order[n_central:]]
    random_part = rng.choice(rest, size=max_examples - n_central, replace=False)
    return np.concatenate([central, np.sort(random_part)])


def nearest_clusters(cluster_centroids, i, n):
    """Indices of the ``n`` clusters whose centroids are nearest cluster ``i``'s."""
    sims = cluster_centroids @ cluster_centroids[i]
    sims[i] = -np.inf
    return [
        int(j) for j in np.argsort(-sims, kind="stable")[:n] if np.isfinite(sims[j])
    ]
