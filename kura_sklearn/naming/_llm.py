"""Cluster names and meta-cluster merges written by an LLM (Clio's method)."""

import dataclasses
import html
import logging
import math
import os
from numbers import Integral

import numpy as np
from pydantic import BaseModel, Field, field_validator
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from ..caching import cached_map, item_key
from ..llm import (
    LLM_PARAMETER_CONSTRAINTS,
    NAMING_PROMPTS,
    REQUIRED_PLACEHOLDERS,
    BatchResult,
    answer_identity,
    backend_for,
    fill,
    record_batch,
    settle_failures,
)
from ..utils import VersionStampMixin, progress
from ._base import (
    ClusterName,
    all_nearest_clusters,
    centroids,
    group_indices,
    sample_examples,
)
from ._keywords import KeywordNamer

logger = logging.getLogger(__name__)

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


class PrivacyAuditAnswer(BaseModel):
    """The auditor's answer on one cluster: the reasoning, then Clio's 1-5 rating."""

    justification: str = Field(
        description="One or two sentences on what in the text could identify "
        "someone, or why nothing can."
    )
    rating: int = Field(
        ge=1,
        le=5,
        description="1 identifies a person ... 5 holds no private information.",
    )


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

    Meta-clustering follows Clio's procedure, one level at a time: the
    children are grouped into neighbourhoods of about
    ``neighbourhood_size``; each neighbourhood proposes about its share of
    the level's target of parent names, seeing the ``context_size`` nearest
    clusters outside it; one call deduplicates every proposal of the level;
    each child is assigned among its ``n_candidates`` nearest deduplicated
    names, offered in a seeded random order, or to "None of these" (a group
    of its own); and the parents are renamed from the children they
    received: at most ``3 * n_neighbourhoods + 1`` calls per level.

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
    neighbourhood_size : int, default=40
        Clusters per neighbourhood when merging into meta-clusters (Clio:
        about 40). Each neighbourhood makes one proposal call, one
        assignment call and at most one renaming call per level.
    context_size : int, default=10
        Nearest clusters outside a neighbourhood shown to its proposal call
        as context, so that categories fit the neighbourhood's borders.
    n_candidates : int, default=10
        Deduplicated parent names each child is offered at assignment: the
        nearest to it by embedding, whichever neighbourhood proposed them.
        One call offers the union of its children's (at most 50).
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
    audit_privacy : bool, default=False
        After naming, ask the model to rate every cluster's name and
        description on Clio's 1-5 privacy scale (one call per cluster, the
        justification before the rating, at this namer's ``temperature``);
        :class:`~kura_sklearn.ConversationClusterer` stores the rating as
        ``privacy_score`` and withholds clusters rated below 3. Off by
        default because it adds a call per cluster; see ``docs/privacy.md``.
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
        "fallback" names the cluster with its keyword name, keeps the
        proposals when deduplication fails, and merges the children whose
        assignment (or every proposal) failed with the keyword namer's
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
    a neighbourhood of one cluster proposes nothing (its child is still
    assigned), the level's names are not deduplicated when one call proposed
    them all or only one name came back, an assignment always offers at
    least one name and "None of these", and a parent that received one child
    is not made, so not renamed. Where the procedure follows Clio and where
    it differs: ``docs/llm.md``.

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
        "context_size": [Interval(Integral, 0, None, closed="left")],
        "n_candidates": [Interval(Integral, 1, None, closed="left")],
        "cache_dir": [str, os.PathLike, None],
        "audit_privacy": ["boolean"],
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
        neighbourhood_size=40,
        context_size=10,
        n_candidates=10,
        temperature=0.0,
        seed=None,
        max_concurrency=8,
        timeout=60.0,
        max_retries=8,
        max_tokens=None,
        structured_output="json_schema",
        on_error="fallback",
        cache_dir=None,
        audit_privacy=False,
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
        self.context_size = context_size
        self.n_candidates = n_candidates
        self.temperature = temperature
        self.seed = seed
        self.max_concurrency = max_concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_tokens = max_tokens
        self.structured_output = structured_output
        self.on_error = on_error
        self.cache_dir = cache_dir
        self.audit_privacy = audit_privacy
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
        what = {"naming": "Naming", "audit": "Privacy audit"}.get(
            stage, "Merging clusters"
        )
        settle_failures(result, what, self.on_error)
        return result, n_computed

    def audit_clusters(self, names):
        """Rate each name and description on Clio's 1-5 privacy scale.

        Parameters
        ----------
        names : list of ClusterName
            The clusters' names and descriptions.

        Returns
        -------
        ratings : list of int or None
            1 (identifies someone) to 5 (nothing private) per cluster; None
            where the call failed under ``on_error="fallback"``.
        n_calls : int
            LLM calls made (cache hits not counted).
        """
        self._check()
        template = self._prompt("audit_privacy")
        prompts = [
            fill(
                template,
                name=html.escape(n.name, quote=False),
                description=html.escape(n.description, quote=False),
            )
            for n in names
        ]
        if not prompts:
            return [], 0
        result, n_calls = self._complete(prompts, PrivacyAuditAnswer, stage="audit")
        return [None if r is None else int(r.rating) for r in result.results], n_calls

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
        self,
        children,
        vectors,
        member_texts,
        max_parents,
        *,
        target=None,
        embed=None,
        random_state=None,
    ):
        """Group clusters under broader parents: one meta level, Clio's procedure.

        Propose (one call per neighbourhood of two or more children),
        deduplicate (one call for the level), assign (one call per
        neighbourhood, each child among its nearest deduplicated names or
        "None of these"), rename (one call per neighbourhood whose children
        made parents of two or more): at most ``3 * n_neighbourhoods + 1``
        calls.

        Parameters
        ----------
        children : list of ClusterName
            The current top-level clusters.
        vectors : ndarray of shape (n_children, n_features)
            Embeddings of their names and descriptions.
        member_texts : list of list of str
            Texts of each child's members (used by the fallback merge only).
        max_parents : int
            Most parents the level may have (the top of its band).
        target : int, default=None
            Parents aimed at; the deduplicated names number between half and
            one and a half times it (within ``max_parents``). ``None`` aims
            at ``max_parents``.
        embed : callable, default=None
            Embeds a list of texts in the space of ``vectors``; ranks the
            deduplicated names for each child. ``None`` ranks them by the
            words they share with the child's name and description.
        random_state : int, RandomState instance or None
            Seed of the neighbourhood K-means and of the candidates' order.

        Returns
        -------
        assignment : list of int
            Parent index of each child; a child that answered "None of these"
            (or is the only child of its parent) is alone in its group.
        parents : list of ClusterName
        n_calls : int
            LLM calls made (cache hits not counted).
        """
        from ._llm_merge import LevelMerge, neighbourhoods

        self._check()
        rng = check_random_state(random_state)
        n = len(children)
        target = max_parents if target is None else max(1, min(target, max_parents))
        low = max(1, min(max_parents, math.ceil(target / 2)))
        groups = neighbourhoods(vectors, self.neighbourhood_size, rng)
        most = 3 * len(groups) + 1
        with progress(
            most,
            "Merging",
            self.verbose,
            done=f"Merged {n} clusters:",
            unit="call",
            noun="call",
            start=(
                f"Merging {n} clusters in {len(groups)} neighbourhoods: "
                f"at most {most} LLM calls"
            ),
            logger=logger,
        ) as bar:
            merge = LevelMerge(
                self, children, vectors, member_texts, embed=embed, rng=rng, bar=bar
            )
            return merge.run(groups, target, low, max_parents)
