"""One meta level written by an LLM, as Clio builds it (arXiv 2412.13678, G.7).

Four steps per level. The children are grouped into neighbourhoods of about
``neighbourhood_size`` (K-means over their name embeddings), and each
neighbourhood of two or more proposes about its share of the level's target
of parent names, seeing the nearest clusters outside it as context. One call
then deduplicates every proposal of the level at once, into about the target
(between half and one and a half times it). Each child is assigned, one call
per neighbourhood, among the deduplicated names nearest to it (so it can join
a parent another neighbourhood proposed), offered in an order shuffled with
the seeded generator, with a reasoning field first and "None of these", which
leaves the child a group of its own (unless that would take the level past
its upper bound: then the outliers nearest a chosen parent join it). Last,
each parent of two or more children is renamed from the children it
received, siblings side by side.
"""

import html
import math
from enum import Enum

import numpy as np
from pydantic import ConfigDict, Field, create_model
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import HashingVectorizer

from ..cluster import KMeansTreeClusterer
from ..llm import NONE_OF_THESE, fill
from ._base import ClusterName, group_indices
from ._keywords import KeywordNamer
from ._llm import logger
from ._llm_answers import ClusterNameAnswer, clip, short_name

#: Above this many neighbourhoods, children are grouped with a K-means tree
#: rather than flat K-means (whose cost grows with n x n_groups).
_FLAT_KMEANS_MAX_GROUPS = 256

#: Most categories one assignment call offers (one shared enum in ``$defs``,
#: far under providers' limits on enum values).
MAX_CANDIDATES_PER_CALL = 50


def neighbourhoods(vectors, size, random_state):
    """Children grouped by K-means into groups of about ``size``; none empty."""
    n = len(vectors)
    n_groups = max(1, math.ceil(n / size))
    if n_groups > _FLAT_KMEANS_MAX_GROUPS:
        groups = KMeansTreeClusterer(
            n_clusters=n_groups, random_state=random_state
        ).fit_predict(np.asarray(vectors, dtype=np.float32))
    elif n_groups > 1:
        groups = KMeans(
            n_clusters=n_groups, n_init="auto", random_state=random_state
        ).fit_predict(vectors)
    else:
        groups = np.zeros(n, dtype=int)
    found = [[int(i) for i in m] for m in group_indices(groups, range(n_groups))]
    return [m for m in found if m]


def _unit(matrix):
    matrix = np.asarray(matrix, dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


def outside_context(unit_vectors, members, k):
    """The ``k`` children outside ``members`` nearest to its mean direction."""
    if k <= 0 or len(members) == len(unit_vectors):
        return []
    sims = unit_vectors @ unit_vectors[members].mean(axis=0)
    sims[members] = -np.inf
    k = min(k, len(unit_vectors) - len(members))
    nearest = np.argpartition(-sims, k - 1)[:k]
    return [int(i) for i in nearest[np.argsort(-sims[nearest], kind="stable")]]


def share_band(target, share, high):
    """(about, at least, at most) names for a ``share`` of a level's ``target``.

    >>> share_band(10, 0.4, 15), share_band(10, 0.05, 15), share_band(100, 1.0, 150)
    ((4, 2, 6), (1, 1, 1), (100, 50, 150))
    """
    t = target * share
    most = max(1, min(high, math.floor(1.5 * t + 1e-9)))
    least = max(1, min(most, math.ceil(t / 2 - 1e-9)))
    return min(most, max(least, round(t))), least, most


def _xml(text):
    """Text from the model or the users, safe inside an XML-like element."""
    return html.escape(str(text), quote=False)


def _cluster_element(child, key=None):
    ident = f' id="{key}"' if key else ""
    return (
        f"<cluster{ident}>{_xml(child.name)}: {_xml(clip(child.description))}</cluster>"
    )


def _clean(names, seen=None):
    """Names shortened, without blanks, repeats (any case) or "None of these"."""
    seen = set() if seen is None else seen
    out = []
    for name in names:
        name = short_name(name)
        key = name.lower()
        if name and key not in seen and key != NONE_OF_THESE.lower():
            seen.add(key)
            out.append(name)
    return out


def _names_model(title, least, most):
    return create_model(
        title,
        names=(
            list[str],
            Field(min_length=least, max_length=most, description="Category names."),
        ),
    )


class LevelMerge:
    """The calls of one level for :meth:`LLMNamer.merge_round`.

    ``namer`` supplies the prompts, the parameters and ``_complete`` (calls
    through the per-item cache, under ``on_error``); ``bar`` is told of each
    call made or skipped, ``3 * len(groups) + 1`` in all.
    """

    def __init__(self, namer, children, vectors, member_texts, *, embed, rng, bar):
        self.namer = namer
        self.children = children
        self.vectors = np.asarray(vectors, dtype=np.float64)
        self.member_texts = member_texts
        self.embed = embed
        self.rng = rng
        self.bar = bar
        self.n_calls = 0

    def _call(self, prompts, models):
        if not prompts:
            return [], 0
        result, made = self.namer._complete(
            prompts, models, bar=self.bar, stage="hierarchy"
        )
        self.n_calls += made
        return result.results, made

    def run(self, groups, target, low, high):
        """Parent index of each child, the parents, and the calls made."""
        proposals = self.propose(groups, target, high)
        candidates = self.deduplicate(proposals, target, low, high)
        if not candidates:  # every proposal failed: the offline merge
            logger.warning(
                "no parent names proposed for %d clusters; merging them offline "
                "(on_error='fallback')",
                len(self.children),
            )
            self.bar.update(2 * len(groups))
            return self._offline(list(range(len(self.children))), target)
        chosen = self.assign(groups, candidates)
        self.within_band(chosen, low, high)
        return self.rename(groups, candidates, chosen, target)

    # 1. propose ---------------------------------------------------------

    def propose(self, groups, target, high):
        """Per neighbourhood of 2+ children: about its share of ``target`` names."""
        n = len(self.children)
        unit = _unit(self.vectors)
        asked = [g for g, m in enumerate(groups) if len(m) > 1]
        prompts, models = [], []
        for g in asked:
            about, least, most = share_band(target, len(groups[g]) / n, high)
            most = min(most, len(groups[g]))
            least, about = min(least, most), min(about, most)
            context = outside_context(unit, groups[g], self.namer.context_size)
            prompts.append(
                fill(
                    self.namer._prompt("propose_parents"),
                    children="\n".join(
                        _cluster_element(self.children[i]) for i in groups[g]
                    ),
                    context="\n".join(
                        _cluster_element(self.children[i]) for i in context
                    )
                    or "(none)",
                    n_parents=str(about),
                    min_parents=str(least),
                    max_parents=str(most),
                )
            )
            models.append(_names_model("ProposedParents", least, most))
        answers, _ = self._call(prompts, models)
        self.bar.update(len(groups) - len(asked))  # a lone child proposes nothing
        proposals = [[] for _ in groups]
        for g, answer in zip(asked, answers):
            if answer is not None:
                proposals[g] = _clean(answer.names)
        return proposals

    # 2. deduplicate -------------------------------------------------------

    def deduplicate(self, proposals, target, low, high):
        """One call over every proposal of the level; none when nothing to merge.

        Asked only when two or more neighbourhoods proposed and two or more
        distinct names came back: the names of one call already saw each
        other, and one name has one possible answer.
        """
        pooled = _clean([name for names in proposals for name in names])
        proposers = sum(1 for names in proposals if names)
        if proposers < 2 or len(pooled) < 2:
            self.bar.update(1)
            return pooled
        most = min(high, len(pooled))
        least = min(low, most)
        prompt = fill(
            self.namer._prompt("deduplicate_parents"),
            names="\n".join(f"<name>{_xml(name)}</name>" for name in pooled),
            n_parents=str(min(max(target, least), most)),
            min_parents=str(least),
            max_parents=str(most),
        )
        (answer,), _ = self._call(
            [prompt], [_names_model("DeduplicatedParents", least, most)]
        )
        if answer is None:  # failed under on_error="fallback": exact repeats only
            return pooled
        return _clean(answer.names) or pooled

    # 3. assign --------------------------------------------------------------

    def _similarities(self, candidates):
        """Cosine of each child to each candidate name (children x candidates)."""
        if self.embed is not None:
            left, right = self.vectors, self.embed(list(candidates))
        else:  # no embedder given: shared words of the names
            hasher = HashingVectorizer(n_features=2**16, alternate_sign=False)
            left = hasher.transform(
                [f"{c.name} {c.description}" for c in self.children]
            ).toarray()
            right = hasher.transform(list(candidates)).toarray()
        return _unit(left) @ _unit(np.asarray(right, dtype=np.float64)).T

    def offered(self, members, sims):
        """The candidates one call offers ``members``: each one's nearest few."""
        k = min(self.namer.n_candidates, sims.shape[1])
        rows = sims[members]
        nearest = np.argsort(-rows, axis=1, kind="stable")[:, :k]
        union = np.unique(nearest)
        if len(union) > MAX_CANDIDATES_PER_CALL:
            best = rows[:, union].max(axis=0)
            union = union[np.argsort(-best, kind="stable")[:MAX_CANDIDATES_PER_CALL]]
        union = [int(j) for j in union]
        self.rng.shuffle(union)  # against position bias; seeded
        return union

    def assign(self, groups, candidates):
        """Candidate index of each child, -1 for "None of these", None if failed."""
        self.sims = sims = self._similarities(candidates)
        prompts, models, offers = [], [], []
        for members in groups:
            offer = self.offered(members, sims)
            offers.append(offer)
            # one enum in $defs that every child's answer refers to (an Enum:
            # pydantic caches RootModel[Literal[...]] under an equal Literal
            # in another order, which would undo the shuffle)
            names = [candidates[j] for j in offer] + [NONE_OF_THESE]
            category = Enum(
                "Category", [(f"c{j}", name) for j, name in enumerate(names)], type=str
            )
            fields = {f"cluster_{k}": (category, ...) for k in range(len(members))}
            models.append(
                create_model(
                    "ParentAssignment",
                    __config__=ConfigDict(use_enum_values=True),
                    reasoning=(
                        str,
                        Field(description="Reasoning before choosing, briefly."),
                    ),
                    **fields,
                )
            )
            prompts.append(
                fill(
                    self.namer._prompt("assign_parents"),
                    parents="\n".join(
                        f"<category>{_xml(candidates[j])}</category>" for j in offer
                    ),
                    children="\n".join(
                        _cluster_element(self.children[i], f"cluster_{k}")
                        for k, i in enumerate(members)
                    ),
                )
            )
        answers, _ = self._call(prompts, models)
        index = {name: j for j, name in enumerate(candidates)}
        chosen = [None] * len(self.children)
        for members, answer in zip(groups, answers):
            if answer is None:
                continue
            for k, i in enumerate(members):
                name = getattr(answer, f"cluster_{k}")
                chosen[i] = -1 if name == NONE_OF_THESE else index[name]
        return chosen

    def within_band(self, chosen, low, high):
        """Keep the level within ``high`` groups: "None of these" yields first.

        Each child that answered "None of these" is a group of its own; when
        they would take the level past its upper bound (the top level's is
        ``max_clusters``), those nearest to a chosen parent join it, rather
        than the whole level being replaced by the offline merge. Only when
        the chosen parents are ``low`` at least: fewer (the proposals
        collapsed) would pile the outliers into a few parents, one holding
        most of the data, so the level is left to fall back instead.
        """
        used = sorted({c for c in chosen if c is not None and c >= 0})
        nones = [i for i, c in enumerate(chosen) if c == -1]
        excess = len(used) + len(nones) - high
        if excess <= 0 or len(used) < low or not nones:
            return
        sims = self.sims[np.ix_(nones, used)]
        order = np.argsort(-sims.max(axis=1), kind="stable")[:excess]
        for row in order:
            chosen[nones[row]] = used[int(np.argmax(sims[row]))]
        logger.info(
            "%d clusters that fitted no category joined their nearest parent, "
            "to keep the level within %d groups",
            len(order),
            high,
        )

    # 4. rename -----------------------------------------------------------------

    def rename(self, groups, candidates, chosen, target):
        """Parents from the assignment; those of 2+ children renamed."""
        children = self.children
        home = np.empty(len(children), dtype=np.intp)
        for g, members in enumerate(groups):
            home[members] = g
        by_candidate = {}
        for i, c in enumerate(chosen):
            if c is not None and c >= 0:
                by_candidate.setdefault(c, []).append(i)
        made = [(candidates[c], idx) for c, idx in sorted(by_candidate.items())]
        # "None of these": a group of its own (a parent of one child is never
        # made, so the child stays a root and meets the next level's parents)
        made += [(children[i].name, [i]) for i, c in enumerate(chosen) if c == -1]
        assignment = [-1] * len(children)
        for p, (_, idx) in enumerate(made):
            for i in idx:
                assignment[i] = p

        # siblings renamed side by side: parents grouped by the neighbourhood
        # most of their children came from
        by_home = {}
        for p, (_, idx) in enumerate(made):
            if len(idx) > 1:
                g = int(np.bincount(home[idx]).argmax())
                by_home.setdefault(g, []).append(p)
        calls = sorted(by_home)
        prompts, models = [], []
        for g in calls:
            own = by_home[g]
            models.append(
                create_model(
                    "RenamedParents",
                    **{f"category_{p}": (ClusterNameAnswer, ...) for p in own},
                )
            )
            text = "\n\n".join(
                f'<category id="category_{p}">\n<proposed>{_xml(made[p][0])}'
                "</proposed>\n"
                + "\n".join(
                    f"<cluster>{_xml(children[i].name)}</cluster>" for i in made[p][1]
                )
                + "\n</category>"
                for p in own
            )
            prompts.append(fill(self.namer._prompt("rename_parents"), parents=text))
        answers, _ = self._call(prompts, models)
        self.bar.update(len(groups) - len(calls))
        renamed = {}
        for g, answer in zip(calls, answers):
            for p in by_home[g]:
                renamed[p] = (
                    None if answer is None else getattr(answer, f"category_{p}")
                )
        parents = []
        for p, (name, idx) in enumerate(made):
            new = renamed.get(p)
            if len(idx) == 1:  # never made into a node: the name is unused
                parents.append(children[idx[0]])
            elif new is not None:
                parents.append(
                    ClusterName(
                        short_name(new.name), new.description.strip(), source="llm"
                    )
                )
            else:
                listed = "; ".join(children[i].name for i in idx[:5])
                parents.append(
                    ClusterName(
                        name,
                        f"Groups {len(idx)} clusters: {listed}.",
                        source="fallback",
                    )
                )

        left = [i for i, c in enumerate(chosen) if c is None]
        if left:  # assignment calls that failed: the offline merge for them
            logger.warning(
                "merging %d clusters offline after LLM failures (on_error='fallback')",
                len(left),
            )
            sub_assignment, sub_parents, _ = self._offline(left, target)
            for i, a in zip(left, sub_assignment):
                assignment[i] = len(parents) + a
            parents.extend(sub_parents)
        return assignment, parents, self.n_calls

    def _offline(self, indices, target):
        """Size-weighted merge of ``indices`` into their share of ``target``."""
        n_parents = max(1, round(target * len(indices) / len(self.children)))
        sub_assignment, sub_parents, _ = KeywordNamer().merge_round(
            [self.children[i] for i in indices],
            self.vectors[indices],
            [self.member_texts[i] for i in indices],
            n_parents,
        )
        parents = [
            ClusterName(p.name, p.description, p.keywords, source="fallback")
            for p in sub_parents
        ]
        if len(indices) == len(self.children):
            return list(sub_assignment), parents, self.n_calls
        return list(sub_assignment), parents, 0
