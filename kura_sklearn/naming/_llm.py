"""Cluster names and meta-cluster merges written by an LLM (Clio's method)."""

import dataclasses
import logging
import math
import os
from numbers import Integral
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, create_model, field_validator
from sklearn.base import BaseEstimator
from sklearn.cluster import KMeans
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from ..caching import cached_map, item_key
from ..cluster import KMeansTreeClusterer
from ..llm import (
    NAMING_PROMPTS,
    REQUIRED_PLACEHOLDERS,
    BatchResult,
    fill,
)
from ..llm._settings import (
    LLM_PARAMETER_CONSTRAINTS,
    answer_identity,
    backend_for,
    settle_failures,
)
from ..llm._usage import record_batch
from ..utils._progress import progress
from ..utils._versioning import VersionStampMixin
from ._base import (
    ClusterName,
    all_nearest_clusters,
    centroids,
    group_indices,
    sample_examples,
)
from ._keywords import KeywordNamer

logger = logging.getLogger(__name__)

#: Above this many neighbourhoods, merge rounds group clusters with a K-means
#: tree rather than flat K-means (whose cost grows with n x n_groups).
_FLAT_KMEANS_MAX_GROUPS = 256

#: Characters kept of each example in a prompt, so prompts stay bounded.
EXAMPLE_CHARS = 300
MAX_NAME_WORDS = 10
#: Members of each nearby cluster read when looking for the nearest
#: non-members (a strided sample of larger clusters), so contrast costs the
#: same for a cluster of 10 and of 100,000.
_CONTRAST_POOL_PER_CLUSTER = 200


class ClusterNameAnswer(BaseModel):
    """The LLM's answer when naming one cluster: description first, then name.

    The description comes first so that the name is written from it (as in
    Clio). A name over :data:`MAX_NAME_WORDS` words fails validation, so the
    request is retried rather than the name cut mid-phrase.
    """

    description: str = Field(
        description="Two sentences in the past tense on what the users in this "
        "group asked for, specific to this group."
    )
    name: str = Field(
        description=f"Imperative sentence of at most {MAX_NAME_WORDS} words, "
        "specific to this group."
    )

    @field_validator("name")
    @classmethod
    def _at_most_max_words(cls, value):
        name = " ".join(value.split()).rstrip(".").strip()
        n_words = len(name.split())
        if not n_words:
            raise ValueError("the name is empty")
        if n_words > MAX_NAME_WORDS:
            raise ValueError(
                f"the name has {n_words} words; at most {MAX_NAME_WORDS} are allowed"
            )
        return name


def _clip(text, limit=EXAMPLE_CHARS):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _alternate(chosen, n_central):
    """``sample_examples``' central and random picks, interleaved.

    A budget that cuts the list then keeps both kinds, not only the most
    central ones.
    """
    chosen = list(chosen)
    central, rest = chosen[:n_central], chosen[n_central:]
    out = []
    for k in range(max(len(central), len(rest))):
        out.extend(side[k] for side in (central, rest) if k < len(side))
    return out


def _nearest_outside(neighbour_members, embeddings, centroid, n):
    """The ``n`` texts of nearby clusters nearest ``centroid``, nearest first.

    Clio's contrast is the nearest non-members; they are looked for among
    the members of the nearest clusters, each read through a strided sample
    of at most :data:`_CONTRAST_POOL_PER_CLUSTER`, so the cost is bounded.
    """
    if n == 0 or not neighbour_members:
        return []
    pool = []
    for m in neighbour_members:
        step = max(1, math.ceil(len(m) / _CONTRAST_POOL_PER_CLUSTER))
        pool.append(np.asarray(m)[::step])
    pool = np.concatenate(pool)
    sims = embeddings[pool] @ centroid
    return [int(i) for i in pool[np.argsort(-sims, kind="stable")[:n]]]


def _within_budget(lines, budget, at_least=0):
    """The first ``lines`` whose total length (one newline each) fits ``budget``."""
    out, used = [], 0
    for line in lines:
        if used + len(line) + 1 > budget and len(out) >= at_least:
            break
        out.append(line)
        used += len(line) + 1
    return out


def _short_name(name):
    words = " ".join(name.split()).rstrip(".").split(" ")
    return " ".join(words[:MAX_NAME_WORDS])


class LLMNamer(VersionStampMixin, BaseEstimator):
    """Name clusters and build meta-clusters with an LLM, as Clio does.

    Each cluster is named from a sample of its texts (half nearest its
    centroid, half at random, at most ``max_examples``) set against the texts
    outside it nearest its centroid (at most ``max_contrastive_examples``),
    as Clio does with 50 and 50, all within ``max_prompt_chars``, so the
    prompt size does not grow with the cluster. The description is asked
    before the name, specific to the group (it is embedded to build the
    hierarchy, so it must not describe the neighbours), and a name over ten
    words is rejected and asked again rather than cut.

    Meta-clustering groups clusters into neighbourhoods of about
    ``neighbourhood_size`` and makes at most three calls per neighbourhood: propose
    at most ceil(g/2) parent names (fewer when the level's bound asks for
    more than halving), assign every child to one of them (the
    schema's enum admits only proposed names), and rename the parents from
    the children they received.

    Parameters
    ----------
    model : str
        Model name, with an optional provider prefix ("openai/gpt-4o-mini").
    base_url : str, default=None
        OpenAI-compatible server; ``None`` uses ``OPENAI_BASE_URL``, else OpenAI.
    api_key_env : str, default="OPENAI_API_KEY"
        Name of the environment variable holding the key.
    prompts : dict, default=None
        Replacement templates for keys of :data:`kura_sklearn.llm.NAMING_PROMPTS`.
    max_examples : int, default=50
        Texts from inside a cluster shown when naming it (Clio: 50).
    max_contrastive_examples : int, default=50
        Texts from outside a cluster shown when naming it, the nearest to its
        centroid (Clio: 50), found among the members of its
        ``max_contrastive_examples`` nearest clusters.
    max_prompt_chars : int, default=24000
        Character budget of the examples in one naming prompt (about 6,000
        tokens; each example is clipped to 300 characters first). It is
        shared between the cluster's texts and the contrastive ones in
        proportion to ``max_examples`` and ``max_contrastive_examples``
        (a side that needs less leaves the rest to the other); the
        examples that do not fit are left out, at least one of the cluster's
        is always sent.
    neighbourhood_size : int, default=10
        Clusters per neighbourhood when merging into meta-clusters.
    temperature : float, default=0.0
        Sampling temperature.
    seed : int, default=None
        Sampling seed, for servers that honour it.
    max_concurrency : int, default=8
        Requests in flight at once.
    timeout : float, default=60.0
        Seconds before one request is abandoned and retried.
    max_retries : int, default=8
        Retries per request, on every transient fault (see
        :class:`~kura_sklearn.llm.OpenAIBackend`).
    max_tokens : int, default=None
        Most tokens generated per answer; bounds a looping local model. A cut
        answer fails validation and is retried, then reported. Not part of
        the cache key (a cut answer is never cached).
    structured_output : {"json_schema", "json_object"}, default="json_schema"
        How the answer schema is sent: OpenAI's "json_schema" (also vLLM,
        Ollama, llama.cpp's ``llama-server``), or "json_object" with the
        schema, for ``python -m llama_cpp.server``.
    on_error : {"raise", "fallback"}, default="fallback"
        What happens when a naming or merge call still fails after every
        retry; the same policy as :class:`~kura_sklearn.ConversationSummarizer`'s.
        "fallback" names the cluster with its keyword name, and merges a
        neighbourhood whose calls failed with the keyword namer's
        size-weighted method; every such name has ``source="fallback"``
        (a cluster's ``name_source`` in the tables and the report), is
        logged as a warning and counted by
        :func:`kura_sklearn.llm.track_llm_usage`. "raise" raises
        :class:`kura_sklearn.llm.LLMBatchError` naming the failed clusters
        or neighbourhoods. A refused API key or an unknown model or URL
        raises under either policy.
    cache_dir : str or path, default=None
        Per-item cache of answers, keyed by prompt text, schema, model,
        server, sampling settings and prompt version: refitting on the same
        clusters (a grid search, a second fit) makes no new calls. A
        ``redis://`` URL keeps it in a Redis server machines share.
    verbose : int, default=0
        0 is silent. Above 0, naming and each merge round log their start
        and end (logger ``kura_sklearn.naming._llm``, INFO) and, when
        standard error is a terminal, show a progress bar of the clusters
        named (or merge calls made), their rate and the time left. Cached
        answers count as done at once. Never part of the cache key.

    See Also
    --------
    KeywordNamer : Offline names, no model.

    Notes
    -----
    Names written by the LLM have ``source="llm"``; see ``on_error`` for
    failures. A merge question with only one possible answer is not asked:
    a neighbourhood of one cluster makes no calls (a parent of one child is
    never made), one offered parent name takes every child without an
    assignment call, and a parent that received one child is not renamed.

    Examples
    --------
    >>> from kura_sklearn.naming import LLMNamer
    >>> LLMNamer("openai/gpt-4o-mini", max_examples=20).get_params()["max_examples"]
    20
    >>> LLMNamer("openai/gpt-4o-mini").get_params()["max_prompt_chars"]
    24000
    """

    _parameter_constraints: dict = {
        **LLM_PARAMETER_CONSTRAINTS,
        "model": [str],
        "prompts": [dict, None],
        "max_examples": [Interval(Integral, 1, None, closed="left")],
        "max_contrastive_examples": [Interval(Integral, 0, None, closed="left")],
        "max_prompt_chars": [Interval(Integral, 1, None, closed="left")],
        "neighbourhood_size": [Interval(Integral, 2, None, closed="left")],
        "cache_dir": [str, os.PathLike, None],
        "verbose": ["verbose"],
    }

    #: Meta-clustering groups children by embeddings of their names.
    embeds_names = True

    def __init__(
        self,
        model,
        *,
        base_url=None,
        api_key_env="OPENAI_API_KEY",
        prompts=None,
        max_examples=50,
        max_contrastive_examples=50,
        max_prompt_chars=24000,
        neighbourhood_size=10,
        temperature=0.0,
        seed=None,
        max_concurrency=8,
        timeout=60.0,
        max_retries=8,
        max_tokens=None,
        structured_output="json_schema",
        on_error="fallback",
        cache_dir=None,
        verbose=0,
    ):
        self.model = model
        self.base_url = base_url
        self.api_key_env = api_key_env
        self.prompts = prompts
        self.max_examples = max_examples
        self.max_contrastive_examples = max_contrastive_examples
        self.max_prompt_chars = max_prompt_chars
        self.neighbourhood_size = neighbourhood_size
        self.temperature = temperature
        self.seed = seed
        self.max_concurrency = max_concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_tokens = max_tokens
        self.structured_output = structured_output
        self.on_error = on_error
        self.cache_dir = cache_dir
        self.verbose = verbose

    def _check(self):
        self._validate_params()
        unknown = set(self.prompts or {}) - set(NAMING_PROMPTS)
        if unknown:
            raise ValueError(
                f"Unknown prompt keys {sorted(unknown)}; expected "
                f"some of {sorted(NAMING_PROMPTS)}."
            )
        for key, template in (self.prompts or {}).items():
            for placeholder in REQUIRED_PLACEHOLDERS[key]:
                if placeholder not in template:
                    raise ValueError(f"prompts[{key!r}] must contain {placeholder}.")

    def _prompt(self, key):
        return (self.prompts or {}).get(key) or NAMING_PROMPTS[key]

    def _complete(self, prompts, models, ids=None, bar=None, stage="naming"):
        """``backend.complete`` through the per-item cache, under ``on_error``.

        Returns the batch result (answers as model instances) and the number
        of calls actually made (cache hits and duplicates are not calls).
        ``bar`` is told of each answer as it arrives (cached ones at once).
        The calls are recorded under ``stage`` for
        :func:`~kura_sklearn.llm.track_llm_usage`; failures raise
        :class:`~kura_sklearn.llm.LLMBatchError` when ``on_error="raise"``.
        """
        if not isinstance(models, list):
            models = [models] * len(prompts)
        ids = ids or [str(i) for i in range(len(prompts))]
        identity = answer_identity(self)
        keys = [
            item_key("naming", prompt=p, schema=m.model_json_schema(), **identity)
            for p, m in zip(prompts, models)
        ]
        batch = []

        def compute(indices, on_result):
            batch.append(
                backend_for(self).complete(
                    [prompts[i] for i in indices],
                    [models[i] for i in indices],
                    ids=[ids[i] for i in indices],
                    on_result=lambda j, answer: on_result(j, answer.model_dump()),
                )
            )

        dumps, n_computed = cached_map(
            self.cache_dir,
            keys,
            compute,
            check=lambda i, d: models[i].model_validate(d),  # else recomputed
            progress=bar,
        )
        called = batch[0] if batch else None
        record_batch(
            stage,
            called,
            n_items=len(keys),
            n_cache_hits=len(set(keys)) - n_computed,
        )
        results = [
            None if d is None else m.model_validate(d) for d, m in zip(dumps, models)
        ]
        result = BatchResult(
            ids=ids,
            results=results,
            failures=dict(called.failures) if called else {},
            fatal=called is not None and called.fatal,
        )
        what = "Naming" if stage == "naming" else "Merging clusters"
        settle_failures(result, what, self.on_error)
        return result, n_computed

    def name_clusters(self, texts, labels, embeddings, *, random_state=None):
        """Name every cluster of ``labels`` (noise, -1, excluded): one call each.

        Returns
        -------
        names : dict of int to ClusterName
        n_calls : int
            LLM calls made: one per cluster, less cache hits (retries not
            counted).
        """
        self._check()
        rng = check_random_state(random_state)
        labels = np.asarray(labels)
        embeddings = np.asarray(embeddings)
        cluster_ids = [int(c) for c in np.unique(labels) if c != -1]
        if not cluster_ids:
            return {}, 0
        cents = centroids(embeddings, labels, cluster_ids)
        members = group_indices(labels, cluster_ids)
        # exact up to 8,192 clusters; grouped (seeded, deterministic) above
        all_neighbours = all_nearest_clusters(
            cents, self.max_contrastive_examples, random_state=0
        )
        total = self.max_examples + self.max_contrastive_examples
        own_share = self.max_prompt_chars * self.max_examples // total
        prompts = []
        for row, _ in enumerate(cluster_ids):
            chosen = _alternate(
                sample_examples(
                    members[row], embeddings, cents[row], self.max_examples, rng
                ),
                max(1, self.max_examples // 2),
            )
            outside = _nearest_outside(
                [members[j] for j in all_neighbours[row]],
                embeddings,
                cents[row],
                self.max_contrastive_examples,
            )
            examples = _within_budget(
                [f"- {_clip(texts[i])}" for i in chosen], own_share, at_least=1
            )
            contrastive = _within_budget(
                [f"- {_clip(texts[i])}" for i in outside],
                self.max_prompt_chars - sum(len(x) + 1 for x in examples),
            )
            if len(examples) < len(chosen):  # what contrast left unused
                examples = _within_budget(
                    [f"- {_clip(texts[i])}" for i in chosen],
                    self.max_prompt_chars - sum(len(x) + 1 for x in contrastive),
                    at_least=1,
                )
            examples, contrastive = "\n".join(examples), "\n".join(contrastive)
            prompts.append(
                fill(
                    self._prompt("name_cluster"),
                    examples=examples,
                    contrastive=contrastive or "(none)",
                )
            )
        with progress(
            len(cluster_ids),
            "Naming",
            self.verbose,
            done="Named",
            unit="cluster",
            noun="cluster",
            logger=logger,
        ) as bar:
            result, n_calls = self._complete(
                prompts,
                ClusterNameAnswer,
                ids=[f"cluster {c}" for c in cluster_ids],
                bar=bar,
            )
        names = {}
        fallback = None
        for row, c in enumerate(cluster_ids):
            answer = result.results[row]
            if answer is None:
                if fallback is None:
                    fallback, _ = KeywordNamer().name_clusters(
                        texts, labels, embeddings
                    )
                logger.warning(
                    "naming cluster %d failed (%s); using its keyword name "
                    "(on_error='fallback')",
                    c,
                    result.failures.get(f"cluster {c}"),
                )
                names[c] = dataclasses.replace(fallback[c], source="fallback")
            else:
                names[c] = ClusterName(  # the schema rejected longer names
                    name=answer.name,
                    description=answer.description.strip(),
                    source="llm",
                )
        return names, n_calls

    def merge_round(
        self, children, vectors, member_texts, max_parents, *, random_state=None
    ):
        """Group clusters under broader parents: at most three calls per neighbourhood.

        Parameters
        ----------
        children : list of ClusterName
            The current top-level clusters.
        vectors : ndarray of shape (n_children, n_features)
            Embeddings of their names and descriptions.
        member_texts : list of list of str
            Texts of each child's members (used by the fallback merge only).
        max_parents : int
            Upper bound the caller will enforce; a neighbourhood of g of the
            n children proposes at most ``ceil(g / 2)`` parents, and at most
            ``g * max_parents // n`` (but 1 at least).
        random_state : int, RandomState instance or None
            Seed of the neighbourhood K-means.

        Returns
        -------
        assignment : list of int
            Parent index of each child.
        parents : list of ClusterName
        n_calls : int
            LLM calls made (cache hits not counted).
        """
        self._check()
        n = len(children)
        n_groups = max(1, math.ceil(n / self.neighbourhood_size))
        if n_groups > _FLAT_KMEANS_MAX_GROUPS:
            # flat K-means into n/10 groups costs n^2/10: a tree above this
            groups = KMeansTreeClusterer(
                n_clusters=n_groups, random_state=random_state
            ).fit_predict(np.asarray(vectors, dtype=np.float32))
        elif n_groups > 1:
            groups = KMeans(
                n_clusters=n_groups, n_init="auto", random_state=random_state
            ).fit_predict(vectors)
        else:
            groups = np.zeros(n, dtype=int)
        group_members = [
            [int(i) for i in m] for m in group_indices(groups, range(n_groups))
        ]
        group_members = [m for m in group_members if m]
        # at most three calls per neighbourhood: propose, assign, rename
        with progress(
            3 * len(group_members),
            "Merging",
            self.verbose,
            done=f"Merged {n} clusters:",
            unit="call",
            noun="call",
            start=(
                f"Merging {n} clusters in {len(group_members)} neighbourhoods: "
                f"at most {3 * len(group_members)} LLM calls"
            ),
            logger=logger,
        ) as bar:
            return self._merge(
                children, vectors, member_texts, group_members, max_parents, bar
            )

    def _merge(self, children, vectors, member_texts, group_members, max_parents, bar):
        """``merge_round``'s calls, each phase counted in ``bar``.

        Questions with one possible answer are not asked: a neighbourhood of
        one child needs no parent (one child never gets one), one proposed
        name takes every child, and a parent of one child is never made, so
        it is not renamed.
        """
        n = len(children)
        n_calls = 0

        def describe(idx):
            return "\n".join(
                f"- cluster_{k}: {children[i].name}: {_clip(children[i].description)}"
                for k, i in enumerate(idx)
            )

        # 1. propose parent names: each neighbourhood at most half its
        # children, and at most its share of max_parents (so the total stays
        # within it when a level divides the roots by more than 2)
        caps = [
            max(1, min(math.ceil(len(m) / 2), len(m) * max_parents // n))
            for m in group_members
        ]
        asked = [g for g, m in enumerate(group_members) if len(m) > 1]
        candidates_model = create_model(
            "ParentCandidates",
            names=(
                list[str],
                Field(
                    min_length=1,
                    max_length=max([caps[g] for g in asked], default=1),
                    description="Broader category names.",
                ),
            ),
        )
        prompts = [
            fill(
                self._prompt("propose_parents"),
                children=describe(group_members[g]),
                max_parents=str(caps[g]),
            )
            for g in asked
        ]
        proposed, made = (
            self._complete(prompts, candidates_model, bar=bar, stage="hierarchy")
            if prompts
            else (None, 0)
        )
        # a lone child: no call in any phase
        bar.update(3 * (len(group_members) - len(asked)))
        n_calls += made
        candidates = [[] for _ in group_members]
        for slot, g in enumerate(asked):
            answer = proposed.results[slot]
            unique = []
            for name in answer.names if answer is not None else []:
                name = _short_name(name)
                if name and name.lower() not in {u.lower() for u in unique}:
                    unique.append(name)
            candidates[g] = unique[: caps[g]]

        # 2. assign every child to exactly one proposed name (enum schema);
        # one proposed name admits one answer, so it is not asked
        todo = [g for g in asked if len(candidates[g]) > 1]
        models, prompts = [], []
        for g in todo:
            choice = Literal[tuple(candidates[g])]
            fields = {
                f"cluster_{k}": (choice, ...) for k in range(len(group_members[g]))
            }
            models.append(create_model(f"Assignment{g}", **fields))
            parent_list = "\n".join(f"- {name}" for name in candidates[g])
            prompts.append(
                fill(
                    self._prompt("assign_parents"),
                    parents=parent_list,
                    children=describe(group_members[g]),
                )
            )
        assigned, made = (
            self._complete(prompts, models, bar=bar, stage="hierarchy")
            if prompts
            else (None, 0)
        )
        bar.update(len(asked) - len(prompts))  # skipped: forced or nothing proposed
        n_calls += made
        answers = dict(zip(todo, assigned.results)) if assigned else {}

        assignment = [-1] * n
        parent_groups = []  # per parent: (group, candidate name, child indices)
        for g, members in enumerate(group_members):
            if len(members) == 1:  # stays a root: its own one-child group
                assignment[members[0]] = len(parent_groups)
                parent_groups.append((g, children[members[0]].name, members))
                continue
            if len(candidates[g]) == 1:
                chosen = {f"cluster_{k}": candidates[g][0] for k in range(len(members))}
            elif answers.get(g) is not None:
                chosen = answers[g].model_dump()
            else:
                continue  # nothing proposed or assigned: merged offline below
            by_name = {}
            for k, i in enumerate(members):
                by_name.setdefault(chosen[f"cluster_{k}"], []).append(i)
            for name, idx in by_name.items():
                for i in idx:
                    assignment[i] = len(parent_groups)
                parent_groups.append((g, name, idx))

        # 3. rename the parents from the children they received (a parent of
        # one child is never made, so it is not renamed)
        renamed_parents = {}  # group -> parent indices renamed by its call
        for p, (g, _, idx) in enumerate(parent_groups):
            if len(idx) > 1:
                renamed_parents.setdefault(g, []).append(p)
        rename_groups = sorted(renamed_parents)
        models, prompts = [], []
        for g in rename_groups:
            own = renamed_parents[g]
            fields = {f"category_{p}": (ClusterNameAnswer, ...) for p in own}
            models.append(create_model(f"Renamed{g}", **fields))
            text = "\n\n".join(
                f"category_{p}: {parent_groups[p][1]}\n"
                + "\n".join(f"  - {children[i].name}" for i in parent_groups[p][2])
                for p in own
            )
            prompts.append(fill(self._prompt("rename_parents"), parents=text))
        renamed, made = (
            self._complete(prompts, models, bar=bar, stage="hierarchy")
            if prompts
            else (None, 0)
        )
        bar.update(len(asked) - len(prompts))  # skipped: no parent of 2+ children
        n_calls += made
        parents = []
        for p, (g, name, idx) in enumerate(parent_groups):
            answer = (
                renamed.results[rename_groups.index(g)]
                if g in renamed_parents
                else None
            )
            if len(idx) == 1:  # never made into a node: the name is unused
                parents.append(children[idx[0]])
            elif answer is not None:
                new = getattr(answer, f"category_{p}")
                parents.append(
                    ClusterName(
                        _short_name(new.name), new.description.strip(), source="llm"
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

        # neighbourhoods whose calls failed: deterministic offline merge
        left = [i for i in range(n) if assignment[i] == -1]
        if left:
            logger.warning(
                "merging %d clusters offline after LLM failures (on_error='fallback')",
                len(left),
            )
            sub_assign, sub_parents, _ = KeywordNamer().merge_round(
                [children[i] for i in left],
                vectors[left],
                [member_texts[i] for i in left],
                math.ceil(len(left) / 2),
            )
            offset = len(parents)
            for i, a in zip(left, sub_assign):
                assignment[i] = offset + a
            parents.extend(
                dataclasses.replace(parent, source="fallback") for parent in sub_parents
            )
        return assignment, parents, n_calls
