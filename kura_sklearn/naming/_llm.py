"""Cluster names and meta-cluster merges written by an LLM (Clio's method)."""

import dataclasses
import html
import logging
import math
import os
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ..llm import (
    NAMING_PROMPTS,
    REQUIRED_PLACEHOLDERS,
    LLMSettings,
    cached_complete,
    fill,
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
from ._llm_answers import (
    ClusterNameAnswer,
    PrivacyAuditAnswer,
    alternate,
    clip,
    nearest_outside,
    within_budget,
)

logger = logging.getLogger(__name__)


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
    llm : LLMSettings, default=None
        Server, key variable, sampling, concurrency, time-out, retries,
        token cap and structured-output form of the calls (see
        :class:`kura_sklearn.llm.LLMSettings`); ``None`` uses the defaults.
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
    audit_privacy : bool, default=False
        After naming, ask the model to rate every cluster's name and
        description on Clio's 1-5 privacy scale (one call per cluster, the
        justification before the rating, at this namer's ``llm`` settings);
        :class:`~kura_sklearn.ConversationClusterer` stores the rating as
        ``privacy_score`` and withholds clusters rated below 3. Off by
        default because it adds a call per cluster; see ``docs/privacy.md``.
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
        server, sampling settings, structured output and prompt version:
        refitting on the same clusters (a grid search, a second fit) makes no
        new calls. A
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
        "model": [str],
        "llm": [LLMSettings, None],
        "on_error": [StrOptions({"raise", "fallback"})],
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
        llm=None,
        prompts=None,
        max_examples=50,
        max_contrastive_examples=50,
        max_prompt_chars=24000,
        neighbourhood_size=40,
        context_size=10,
        n_candidates=10,
        on_error="fallback",
        cache_dir=None,
        audit_privacy=False,
        verbose=0,
    ):
        self.model = model
        self.llm = llm
        self.prompts = prompts
        self.max_examples = max_examples
        self.max_contrastive_examples = max_contrastive_examples
        self.max_prompt_chars = max_prompt_chars
        self.neighbourhood_size = neighbourhood_size
        self.context_size = context_size
        self.n_candidates = n_candidates
        self.on_error = on_error
        self.cache_dir = cache_dir
        self.audit_privacy = audit_privacy
        self.verbose = verbose

    def _check(self):
        self._validate_params()
        (self.llm or LLMSettings()).check(self.model)
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
        """Answers through :func:`kura_sklearn.llm.cached_complete`, under ``on_error``.

        Returns the batch result (answers as model instances, ``None`` where
        a call failed under ``on_error="fallback"``) and the number of calls
        actually made (cache hits and duplicates are not calls).
        """
        what = {"naming": "Naming", "audit": "Privacy audit"}.get(
            stage, "Merging clusters"
        )
        return cached_complete(
            self.llm,
            self.model,
            prompts,
            models,
            kind="naming",
            cache=self.cache_dir,
            ids=ids,
            on_error=self.on_error,
            what=what,
            stage=stage,
            progress=bar,
        )

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
            chosen = alternate(
                sample_examples(
                    members[row], embeddings, cents[row], self.max_examples, rng
                ),
                max(1, self.max_examples // 2),
            )
            outside = nearest_outside(
                [members[j] for j in all_neighbours[row]],
                embeddings,
                cents[row],
                self.max_contrastive_examples,
            )
            examples = within_budget(
                [f"- {clip(texts[i])}" for i in chosen], own_share, at_least=1
            )
            contrastive = within_budget(
                [f"- {clip(texts[i])}" for i in outside],
                self.max_prompt_chars - sum(len(x) + 1 for x in examples),
            )
            if len(examples) < len(chosen):  # what contrast left unused
                examples = within_budget(
                    [f"- {clip(texts[i])}" for i in chosen],
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
