"""ConversationClusterer: embed, cluster, name, build the hierarchy, map."""

import inspect
import logging
import time
from dataclasses import dataclass, fields
from numbers import Integral, Real
from operator import itemgetter

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, _fit_context, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted

from ..cluster import centroid_distances, outlier_thresholds
from ..hierarchy import Node, build_hierarchy
from ..llm import USAGE_FIELDS, record_usage, track_llm_usage
from ..naming import centroids, group_indices, slugify
from ..summarization import SummaryArray
from ..utils import VersionStampMixin, check_texts, count_of

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cluster:
    """One base cluster or meta-cluster of a fitted :class:`ConversationClusterer`.

    Attributes
    ----------
    id : int
        Base clusters are ``0..n_base-1`` (the values of ``labels_``); meta
        clusters follow.
    name, description, slug : str
        What it is about; ``slug`` is an ASCII form of the name.
    parent_id : int or None
        The meta-cluster holding it; None for a root.
    level : int
        0 for base clusters, 1 for their parents, and so on.
    count : int
        Conversations in it (with all its descendants).
    member_ids : tuple of str
        Their chat_ids.
    children : tuple of int
        Ids of its child clusters (empty for base clusters).
    x, y : float
        Position on the 2-D map: the centroid of its members' points.
    keywords : tuple of str
        Distinctive terms, when the namer provides them.
    mean_concerning_score : float or None
        Mean of the summarizer's ``concerning_score`` over the members, when
        the input carried that facet.
    hidden : bool
        True when the cluster has fewer conversations than
        ``min_cluster_size`` or fewer distinct users than
        ``min_unique_users``: its name, description and keywords are withheld.
    privacy_score : int or None
        Clio's 1-5 privacy rating of the name and description by an LLM
        namer with ``audit_privacy=True`` (1 identifies someone, 5 holds
        nothing private); below 3 the cluster is hidden. None unaudited.
    n_users : int or None
        Distinct users among the members, when the input carried a
        ``user_id`` column (conversations without one count as a user
        each); None otherwise.
    name_source : {"offline", "llm", "fallback"}
        Who named it: an offline namer, the LLM, or an offline method that
        stood in after the LLM failed (the namer's ``on_error="fallback"``).
    """

    id: int
    name: str
    description: str
    slug: str
    parent_id: int | None
    level: int
    count: int
    member_ids: tuple
    children: tuple
    x: float
    y: float
    keywords: tuple = ()
    mean_concerning_score: float | None = None
    hidden: bool = False
    name_source: str = "offline"
    n_users: int | None = None
    privacy_score: int | None = None


def _as_frame(X):
    """The summarizer's default output as its pandas output; X otherwise.

    A :class:`~kura_sklearn.summarization.SummaryArray` carries the chat_ids
    and facets, so that ``set_output(transform="default")`` loses neither.
    """
    if isinstance(X, SummaryArray):
        frame = X.to_frame()
        if frame is not None:
            return frame
    return X


def _check_summaries(X):
    """Texts and chat_ids from summaries or the summarizer's DataFrame.

    A Series or DataFrame gives its index as chat_ids; other input, positions.
    """
    texts = check_texts(X)
    if hasattr(X, "index") and hasattr(X, "iloc"):
        return texts, [str(i) for i in X.index]
    return texts, [str(i) for i in range(len(texts))]


def _facet(X, column):
    """A numeric facet column of the summarizer's DataFrame, else None."""
    columns = getattr(X, "columns", None)
    if columns is None or column not in columns:
        return None
    return np.asarray(
        [np.nan if v is None else float(v) for v in X[column]], dtype=np.float64
    )


def _facets(X):
    """Every column of the summarizer's DataFrame but ``summary``, as lists.

    Kept so that the fitted clusterer can report facets (languages, concerning
    score...) per conversation and per cluster; plain lists keep the fitted
    object loadable with skops.
    """
    columns = getattr(X, "columns", None)
    if columns is None:
        return {}
    return {
        str(name): [_plain(v) for v in X[name]] for name in columns if name != "summary"
    }


def _user_ids(X, chat_ids):
    """Each summary's user from a ``user_id`` column, else None.

    A missing user id counts as a user of its own (its chat_id), so that
    conversations of unknown users never merge into one.
    """
    columns = getattr(X, "columns", None)
    if columns is None or "user_id" not in columns:
        return None
    return [
        ("chat", c) if u is None or u != u else ("user", str(u))
        for u, c in zip(X["user_id"], chat_ids)
    ]


def _plain(value):
    """A facet value as a Python scalar or list (NaN becomes None)."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def _renumber(raw):
    """Distinct non-noise labels of ``raw`` (sorted) and ``raw`` renumbered 0..k-1.

    Noise (-1) stays -1. One ``np.unique``, no loop over the rows.
    """
    values, inverse = np.unique(raw, return_inverse=True)
    is_cluster = values != -1
    new_ids = np.where(is_cluster, np.cumsum(is_cluster) - 1, -1).astype(np.intp)
    return [int(c) for c in values[is_cluster]], new_ids[inverse.ravel()]


def _relabel(raw, label_map):
    """``raw`` labels through ``label_map`` (unknown values to -1), vectorised."""
    raw = np.asarray(raw, dtype=np.int64)
    keys = np.fromiter(label_map.keys(), dtype=np.int64, count=len(label_map))
    values = np.fromiter(label_map.values(), dtype=np.intp, count=len(label_map))
    order = np.argsort(keys)
    keys, values = keys[order], values[order]
    pos = np.clip(np.searchsorted(keys, raw), 0, max(len(keys) - 1, 0))
    if not len(keys):
        return np.full(len(raw), -1, dtype=np.intp)
    return np.where(keys[pos] == raw, values[pos], -1).astype(np.intp)


def _pick(values, positions):
    """``tuple(values[i] for i in positions)``, at C speed."""
    if len(positions) == 0:
        return ()
    if len(positions) == 1:
        return (values[int(positions[0])],)
    return itemgetter(*np.asarray(positions).tolist())(values)


def _stage(name):
    """Mark the start of a stage of ``fit`` for profilers (DEBUG, ``stage`` extra).

    ``benchmarks/bench_scaling.py`` listens to these records to time each
    stage and measure its peak memory; nothing is logged unless the logger
    ``kura_sklearn.pipeline._clusterer`` is set to DEBUG.
    """
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("stage %s", name, extra={"stage": name})


def _embed_kwarg(namer, embedder):
    """``embed=`` for namers whose ``name_clusters`` embeds candidate names."""
    params = inspect.signature(namer.name_clusters).parameters
    return {"embed": embedder.transform} if "embed" in params else {}


def _count_fallbacks(clusters, usage):
    """``usage`` with the clusters named by a fallback counted per stage.

    Counted from the clusters, so the figures agree with the tables;
    trackers around ``fit`` (the CLI's) are told too.
    """
    for stage, fallback in (
        ("naming", [c.level == 0 and c.name_source == "fallback" for c in clusters]),
        ("hierarchy", [c.level > 0 and c.name_source == "fallback" for c in clusters]),
    ):
        n = int(sum(fallback))
        if n or stage in usage:
            entry = usage.setdefault(stage, dict.fromkeys(USAGE_FIELDS, 0))
            entry["fallbacks"] += n
            record_usage(stage, fallbacks=n)
    return usage


def _default_embedder():
    from ..embedding import OnnxEmbedder

    return OnnxEmbedder()


def _default_clusterer():
    from ..cluster import KMeansClusterer

    return KMeansClusterer(clusters_per_group=10)


def _default_namer():
    from ..naming import KeyphraseNamer

    return KeyphraseNamer()


def _default_projector():
    from ..projection import MapProjector

    return MapProjector()


def _with_seed(estimator, random_state):
    """Give a cloned sub-estimator the meta-estimator's seed if it has none."""
    if not hasattr(estimator, "get_params"):
        return estimator
    params = estimator.get_params(deep=False)
    if "random_state" in params and params["random_state"] is None:
        estimator.set_params(random_state=random_state)
    return estimator


def _with_verbose(estimator, verbose):
    """Give a cloned embedder or namer the meta-estimator's ``verbose`` if higher."""
    if not verbose or not hasattr(estimator, "get_params"):
        return estimator
    current = estimator.get_params(deep=False).get("verbose")
    if isinstance(current, (bool, Integral)) and current < verbose:
        estimator.set_params(verbose=verbose)
    return estimator


class ConversationClusterer(VersionStampMixin, ClusterMixin, BaseEstimator):
    """The stages after summarisation as one clusterer: embed, cluster, name, map.

    A scikit-learn Pipeline passes only ``X`` from step to step, but naming
    and meta-clustering need the summary texts after they are embedded, so
    these stages live in one meta-estimator whose parts are nested
    parameters (``cluster__embedder``, ``cluster__clusterer__n_clusters``...
    in a grid search). ``fit`` clones every part: the objects passed in are
    never fitted.

    Parameters
    ----------
    embedder : transformer, default=None
        Texts to vectors. ``None`` uses :class:`~kura_sklearn.embedding.OnnxEmbedder`
        (the bundled all-MiniLM-L6-v2: offline, no torch).
    clusterer : clusterer, default=None
        Any scikit-learn clusterer. ``None`` uses
        ``KMeansClusterer(clusters_per_group=10)``.
    namer : KeyphraseNamer, KeywordNamer or LLMNamer, default=None
        Names the clusters (and, an LLM namer, proposes the meta-clusters).
        ``None`` uses :class:`~kura_sklearn.naming.KeyphraseNamer` (offline:
        the members' phrase or request nearest the centroid).
    projector : transformer, default=None
        Embeddings to 2-D. ``None`` uses :class:`~kura_sklearn.projection.MapProjector`.
    max_clusters : int, default=10
        Most top-level clusters; meta levels are added until at most this
        many remain.
    max_levels : int, default=5
        Most meta levels; the last one merges straight to ``max_clusters``.
        The levels share the reduction evenly: each divides the roots by
        ``(roots / max_clusters) ** (1 / levels left)``, and by at least 2,
        so a large input gets the same fan-out at every level (about 6 for
        100,000 base clusters) instead of a last level of hundreds.
    min_cluster_size : int, default=1
        Privacy threshold for reporting (Clio's): a cluster with fewer
        conversations keeps its place in the tree, but its name, description
        and keywords are replaced by a notice, so no text from a small group
        of people is shown. Parents are named from all their members.
    min_unique_users : int, default=1
        Privacy threshold on people rather than conversations (Clio's): a
        cluster whose members come from fewer distinct users is withheld as
        with ``min_cluster_size``, so that one person's many conversations
        cannot make a cluster shown. Users are read from a ``user_id`` column
        of the input (the summarizer's ``user_id_key``); a conversation
        without one, or input without the column, counts as its own user.
    outlier_quantile : float in (0, 1] or None, default=0.99
        How far from its cluster a new summary may fall before ``predict``
        calls it an outlier (-1). At ``fit``, each base cluster's threshold
        is learned from its members' cosine distances to its centroid (see
        :func:`~kura_sklearn.cluster.outlier_thresholds`): its typical
        distance plus a pooled quantile of the excesses, such that this
        share of the training members, each measured against the centroid
        of the others as a new point would be, lies within it. The default
        0.99 flags about 1% of new summaries drawn like the training data
        (1.1% of BANKING77's held-out test queries) and every one of 200
        dialogues from other domains (``benchmarks/bench_outliers.py``);
        lower it to flag more borderline summaries. ``None`` never flags an
        outlier: every summary goes to a cluster, as before.
    store_embeddings : bool, default=False
        Keep the training embeddings as ``embeddings_`` (memory: n x d floats).
    random_state : int, RandomState instance or None, default=None
        Seed for every part whose own ``random_state`` is None, and for the
        naming samples.
    verbose : int, default=0
        0 is silent. Above 0, ``fit`` logs each stage (embedding,
        clustering, naming, every meta level, the map) at INFO level, through
        :mod:`logging` (loggers ``kura_sklearn.*``), and the clones of the
        embedder and the namer get at least this ``verbose``, so they show
        progress bars (texts embedded, clusters named, merge calls made)
        when standard error is a terminal. The clusterer and the projector
        are not given it.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Base cluster of each training summary; -1 for noise (HDBSCAN).
    clusters_ : list of Cluster
        Every base and meta cluster, indexed by id.
    n_clusters_ : int
        Number of base clusters.
    n_llm_calls_ : dict of str to int
        LLM calls made by naming (``"naming"``), at each meta level
        (``"level_1"``, ...) and by the privacy auditor (``"audit"``, with an
        LLM namer's ``audit_privacy=True``).
    llm_usage_ : dict of str to dict
        With an LLM namer, what naming (``"naming"``), the merges
        (``"hierarchy"``) and the privacy auditor (``"audit"``) did in
        ``fit``: items, requests, retries,
        failures, fallbacks (clusters whose ``name_source`` is
        ``"fallback"``) and cache hits (see
        :func:`kura_sklearn.llm.track_llm_usage`). Empty offline.
    chat_ids_ : list of str
        Ids of the training summaries (the DataFrame index, or the chat_ids
        the summarizer's default output carries, else positions).
    summaries_ : list of str
        The training summaries.
    facets_ : dict of str to list
        The other columns of a summarizer DataFrame passed to ``fit``
        (``languages``, ``concerning_score``...), one value per summary;
        empty for plain texts.
    map_ : ndarray of shape (n_samples, 2)
        Map coordinates of each training summary.
    embedder_, clusterer_, namer_, projector_ : estimators
        The fitted clones.
    centroids_ : ndarray of shape (n_clusters_, n_features)
        Normalised mean embedding of each base cluster.
    outlier_thresholds_ : ndarray of shape (n_clusters_,)
        Largest cosine distance to each base cluster's centroid at which a
        new summary is still placed in it (``inf`` with
        ``outlier_quantile=None``).
    embeddings_ : ndarray of shape (n_samples, n_features)
        Only when ``store_embeddings=True``.

    See Also
    --------
    make_kura_pipeline : The summarizer and this clusterer in one Pipeline.

    Notes
    -----
    Noise points (label -1) belong to no cluster and to no meta-cluster.
    ``predict`` embeds new summaries and uses the fitted clusterer's
    ``predict`` when it has one, else the nearest base-cluster centroid;
    a summary farther from that cluster's centroid than
    ``outlier_thresholds_`` allows gets -1, like noise.
    :meth:`predict_status` says which (``"assigned"`` or ``"outlier"``)
    and how far. The training labels ``labels_`` never hold outliers.

    Examples
    --------
    >>> from kura_sklearn import ConversationClusterer, KMeansClusterer
    >>> summaries = ["reset my password", "forgot my login password",
    ...              "bake sourdough bread", "bread that will not rise",
    ...              "translate hello to japanese", "japanese word for thanks"]
    >>> model = ConversationClusterer(clusterer=KMeansClusterer(n_clusters=3),
    ...                               max_clusters=2, random_state=0)
    >>> labels = model.fit_predict(summaries)
    >>> len(set(labels)), sum(c.parent_id is None for c in model.clusters_) <= 2
    (3, True)
    """

    _parameter_constraints: dict = {
        "embedder": [HasMethods(["fit", "transform"]), None],
        "clusterer": [HasMethods(["fit"]), None],
        "namer": [HasMethods(["name_clusters", "merge_round"]), None],
        "projector": [HasMethods(["fit_transform"]), None],
        "max_clusters": [Interval(Integral, 1, None, closed="left")],
        "max_levels": [Interval(Integral, 0, None, closed="left")],
        "min_cluster_size": [Interval(Integral, 1, None, closed="left")],
        "min_unique_users": [Interval(Integral, 1, None, closed="left")],
        "outlier_quantile": [Interval(Real, 0, 1, closed="right"), None],
        "store_embeddings": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        embedder=None,
        clusterer=None,
        *,
        namer=None,
        projector=None,
        max_clusters=10,
        max_levels=5,
        min_cluster_size=1,
        min_unique_users=1,
        outlier_quantile=0.99,
        store_embeddings=False,
        random_state=None,
        verbose=0,
    ):
        self.embedder = embedder
        self.clusterer = clusterer
        self.namer = namer
        self.projector = projector
        self.max_clusters = max_clusters
        self.max_levels = max_levels
        self.min_cluster_size = min_cluster_size
        self.min_unique_users = min_unique_users
        self.outlier_quantile = outlier_quantile
        self.store_embeddings = store_embeddings
        self.random_state = random_state
        self.verbose = verbose

    def _parts(self):
        """Clones of the parts (defaults where None), seeded, and the seed."""
        seed = None
        if self.random_state is not None:
            rng = check_random_state(self.random_state)
            seed = int(rng.randint(np.iinfo(np.int32).max))
        parts = []
        for value, default in [
            (self.embedder, _default_embedder),
            (self.clusterer, _default_clusterer),
            (self.namer, _default_namer),
            (self.projector, _default_projector),
        ]:
            part = clone(value) if value is not None else default()
            parts.append(_with_seed(part, seed))
        embedder, clusterer, namer, projector = parts
        embedder = _with_verbose(embedder, self.verbose)
        namer = _with_verbose(namer, self.verbose)
        return embedder, clusterer, namer, projector, seed

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Embed, cluster, name, build the hierarchy and the map.

        Parameters
        ----------
        X : iterable of str, Series, or DataFrame with a ``summary`` column
            Summaries, e.g. the output of :class:`ConversationSummarizer`.
            A DataFrame's index gives the chat_ids; so does the summarizer's
            default output (a :class:`~kura_sklearn.summarization.SummaryArray`),
            with its facets.
        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X = _as_frame(X)
        texts, ids = _check_summaries(X)
        if len(texts) < 2:
            raise ValueError(
                f"ConversationClusterer needs at least 2 summaries, got {len(texts)}."
            )
        # Everything is computed into locals and the fitted attributes are
        # set together at the end: a fit that raises leaves no half-fitted
        # state that check_is_fitted or predict would accept.
        embedder, clusterer, namer, projector, seed = self._parts()
        _stage("embed")
        embeddings = np.asarray(embedder.fit_transform(texts))
        _stage("cluster")
        started = time.perf_counter()
        if self.verbose:
            logger.info(
                "Clustering %d summaries with %s",
                len(texts),
                type(clusterer).__name__,
            )
        raw = np.asarray(clusterer.fit_predict(embeddings))
        found, labels = _renumber(raw)
        if self.verbose:
            logger.info(
                "Found %d clusters (%d noise points) in %.1f s",
                len(found),
                int(np.sum(raw == -1)),
                time.perf_counter() - started,
            )
        if not found:
            raise ValueError(
                "The clusterer put every summary in noise (-1); "
                "relax its settings (e.g. a smaller min_cluster_size)."
            )
        n_clusters = len(found)
        cluster_ids = list(range(n_clusters))
        centroids_ = centroids(embeddings, labels, cluster_ids).astype(
            embeddings.dtype, copy=False
        )
        thresholds = np.full(n_clusters, np.inf)
        if self.outlier_quantile is not None:
            thresholds = outlier_thresholds(
                embeddings, labels, n_clusters, quantile=self.outlier_quantile
            )
        _stage("name")
        with track_llm_usage() as usage:
            names, naming_calls = namer.name_clusters(
                texts,
                labels,
                embeddings,
                random_state=seed,
                **_embed_kwarg(namer, embedder),
            )
            _stage("hierarchy")
            base = [
                Node(id=c, name=names[c], level=0, members=members)
                for c, members in zip(cluster_ids, group_indices(labels, cluster_ids))
            ]
            nodes, per_level = build_hierarchy(
                base,
                texts,
                embeddings,
                namer=namer,
                embed_names=embedder.transform,
                max_clusters=self.max_clusters,
                max_levels=self.max_levels,
                random_state=seed,
                verbose=self.verbose,
            )
            scores, audit_calls = [None] * len(nodes), None
            if getattr(namer, "audit_privacy", False):
                _stage("audit")
                scores, audit_calls = namer.audit_clusters([n.name for n in nodes])
        n_llm_calls = {"naming": naming_calls}
        if audit_calls is not None:
            n_llm_calls["audit"] = audit_calls
        n_llm_calls.update({f"level_{k}": v for k, v in per_level.items()})
        _stage("map")
        started = time.perf_counter()
        if self.verbose:
            logger.info(
                "Projecting %d embeddings to 2-D with %s",
                len(texts),
                type(projector).__name__,
            )
        map_ = np.asarray(projector.fit_transform(embeddings), dtype=np.float64)
        if self.verbose:
            logger.info("Projected in %.1f s", time.perf_counter() - started)
        _stage("tree")
        concerning_scores = _facet(X, "concerning_score")
        users = _user_ids(X, ids)
        clusters = [
            self._cluster(node, map_, ids, concerning_scores, users, score)
            for node, score in zip(nodes, scores)
        ]
        self.embedder_, self.clusterer_ = embedder, clusterer
        self.namer_, self.projector_ = namer, projector
        self.label_map_ = {int(c): i for i, c in enumerate(found)}
        self.labels_ = labels
        self.n_clusters_ = n_clusters
        self.centroids_ = centroids_
        self.outlier_thresholds_ = thresholds
        self.n_llm_calls_ = n_llm_calls
        self.map_ = map_
        self.chat_ids_ = ids
        self.summaries_ = texts
        self.concerning_scores_ = concerning_scores
        self.facets_ = _facets(X)
        self.clusters_ = clusters
        self.llm_usage_ = _count_fallbacks(clusters, usage)
        if self.store_embeddings:
            self.embeddings_ = embeddings
        elif hasattr(self, "embeddings_"):
            # a previous fit's embeddings describe other summaries: scorers
            # would reuse them for these (issue 12)
            del self.embeddings_
        _stage("done")
        return self

    def _cluster(
        self, node, map_, chat_ids, concerning_scores, users=None, privacy_score=None
    ):
        x, y = map_[node.members].mean(axis=0)
        name = node.name
        n_users = None if users is None else len({users[i] for i in node.members})
        few_users = n_users is not None and n_users < self.min_unique_users
        if users is None and self.min_unique_users > 1:
            few_users = len(node.members) < self.min_unique_users  # 1 user each
        flagged = privacy_score is not None and privacy_score < 3
        hidden = len(node.members) < self.min_cluster_size or few_users or flagged
        if hidden:
            size = count_of(len(node.members), "conversation")
            if flagged:
                title = f"Withheld cluster ({size})"
                description = (
                    f"Withheld: the privacy auditor rated it {privacy_score} of 5."
                )
            else:
                title = f"Small cluster ({size})"
                if few_users:
                    reason = f"{self.min_unique_users} distinct users"
                else:
                    reason = f"{self.min_cluster_size} conversations"
                description = (
                    f"Withheld: fewer than {reason}, below the privacy threshold."
                )
            keywords = ()
        else:
            title, description, keywords = name.name, name.description, name.keywords
        concerning = None
        if concerning_scores is not None:
            scores = concerning_scores[node.members]
            if np.isfinite(scores).any():
                concerning = float(np.nanmean(scores))
        return Cluster(
            id=node.id,
            name=title,
            description=description,
            slug=f"{slugify(title)}-{node.id}",
            parent_id=node.parent,
            level=node.level,
            count=len(node.members),
            member_ids=_pick(chat_ids, node.members),
            children=tuple(node.children),
            x=float(x),
            y=float(y),
            keywords=tuple(keywords),
            mean_concerning_score=concerning,
            hidden=hidden,
            name_source=getattr(name, "source", "offline"),
            n_users=n_users,
            privacy_score=privacy_score,
        )

    def predict(self, X):
        """Place new summaries in the fitted base clusters, or call them outliers.

        Parameters
        ----------
        X : iterable of str, Series, or DataFrame with a ``summary`` column
            New summaries.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Base cluster of each summary (its parents follow from
            ``clusters_``); -1 when the clusterer calls it noise or when it
            lies farther from that cluster than ``outlier_thresholds_``
            allows (see :meth:`predict_status`).
        """
        return self._place(X)[0]

    def predict_status(self, X):
        """Each new summary's cluster, status and distance: ``predict`` explained.

        Parameters
        ----------
        X : iterable of str, Series, or DataFrame with a ``summary`` column
            New summaries.

        Returns
        -------
        table : pandas.DataFrame
            Indexed by chat_id (a DataFrame's or Series' index, else
            positions). Columns: ``cluster_id`` (what ``predict`` returns),
            ``status`` (``"assigned"``, or ``"outlier"`` for -1, noise
            included), ``nearest_cluster_id`` (the cluster it would join,
            -1 for the clusterer's noise), ``distance`` (its cosine distance
            to that cluster's centroid) and ``threshold`` (that cluster's
            ``outlier_thresholds_``).

        Examples
        --------
        >>> from kura_sklearn import ConversationClusterer, KMeansClusterer
        >>> summaries = ["reset my password", "forgot my login password",
        ...              "my password does not work", "change my password",
        ...              "bake sourdough bread", "bread that will not rise",
        ...              "banana bread recipe", "bread flour or plain flour"]
        >>> model = ConversationClusterer(clusterer=KMeansClusterer(n_clusters=2),
        ...                               max_clusters=2, random_state=0)
        >>> model = model.fit(summaries)
        >>> status = model.predict_status(["I forgot my password again",
        ...                                "the offside rule in football"])
        >>> status["status"].tolist()
        ['assigned', 'outlier']
        """
        import pandas as pd

        labels, nearest, distances, ids = self._place(X)
        thresholds = getattr(self, "outlier_thresholds_", None)
        if thresholds is None:  # fitted before outliers existed
            thresholds = np.full(self.n_clusters_, np.inf)
        return pd.DataFrame(
            {
                "cluster_id": labels,
                "status": np.where(labels >= 0, "assigned", "outlier"),
                "nearest_cluster_id": nearest,
                "distance": distances,
                "threshold": np.where(nearest >= 0, thresholds[nearest], np.nan),
            },
            index=pd.Index(ids, name="chat_id"),
        )

    def _place(self, X):
        """Labels, the cluster each would join, its distance there, and ids."""
        check_is_fitted(self)
        texts, ids = _check_summaries(_as_frame(X))
        embeddings = np.asarray(self.embedder_.transform(texts))
        if hasattr(self.clusterer_, "predict"):
            raw = np.asarray(self.clusterer_.predict(embeddings))
            nearest = _relabel(raw, self.label_map_)
        else:
            nearest = np.empty(len(embeddings), dtype=np.intp)
            for start in range(0, len(embeddings), 8192):  # bounded memory
                sims = embeddings[start : start + 8192] @ self.centroids_.T
                nearest[start : start + 8192] = np.argmax(sims, axis=1)
        distances = centroid_distances(embeddings, self.centroids_, nearest)
        thresholds = getattr(self, "outlier_thresholds_", None)
        labels = nearest
        if thresholds is not None:
            placed = nearest >= 0
            far = np.zeros(len(nearest), dtype=bool)
            far[placed] = distances[placed] > thresholds[nearest[placed]]
            labels = np.where(far, -1, nearest).astype(np.intp)
        return labels, nearest, distances, ids

    def ancestors(self, cluster_id):
        """Ids from ``cluster_id`` up to its root, inclusive."""
        check_is_fitted(self)
        chain = [int(cluster_id)]
        while self.clusters_[chain[-1]].parent_id is not None:
            chain.append(self.clusters_[chain[-1]].parent_id)
        return chain

    def hierarchy_frame(self):
        """One row per cluster (base and meta): the tidy tree.

        Returns
        -------
        frame : pandas.DataFrame
            Columns: id, name, description, slug, parent_id, level, count,
            member_ids, children, x, y, keywords, mean_concerning_score,
            hidden, name_source (``"offline"``, ``"llm"`` or ``"fallback"``);
            indexed by id.
        """
        import pandas as pd

        check_is_fitted(self)
        columns = [f.name for f in fields(Cluster)]
        # a shallow record per cluster: dataclasses.asdict would deep-copy every
        # member_ids tuple element by element
        frame = pd.DataFrame(
            [[getattr(c, name) for name in columns] for c in self.clusters_],
            columns=columns,
        ).set_index("id", drop=False)
        frame["parent_id"] = frame["parent_id"].astype("Int64")
        frame.index.name = None
        return frame

    def conversation_frame(self):
        """One row per training summary: its base cluster and every ancestor.

        Returns
        -------
        frame : pandas.DataFrame
            Indexed by chat_id. Columns: summary, the facets seen at ``fit``
            (see ``facets_``), cluster_id, cluster_name, then
            ``level_1_id``/``level_1_name``... up to the top level, and x, y.
            Noise rows have cluster_id -1 and empty names.
        """
        import pandas as pd

        check_is_fitted(self)
        columns = {"summary": self.summaries_}
        columns.update(getattr(self, "facets_", {}))
        columns.update(self._ancestor_columns(self.labels_))
        columns["x"], columns["y"] = self.map_[:, 0], self.map_[:, 1]
        return pd.DataFrame(columns, index=pd.Index(self.chat_ids_, name="chat_id"))

    def _ancestor_columns(self, labels):
        """Base cluster and every ancestor of each label, as columns.

        Each base cluster's chain is computed once and the rows gather from
        it, so the cost is linear in the number of labels.

        Parameters
        ----------
        labels : array-like of shape (n_samples,)
            Base-cluster labels, -1 for noise.

        Returns
        -------
        columns : dict of str to array
            ``cluster_id``, ``cluster_name``, then ``level_k_id`` (nullable
            Int64, missing for noise) and ``level_k_name`` for each meta
            level k.
        """
        import pandas as pd

        labels = np.asarray(labels, dtype=np.intp)
        clusters = self.clusters_
        top = max(c.level for c in clusters)
        # row k of `ids`: base cluster k's ancestor id at each level (k
        # itself at level 0), -1 for none; the last row, all -1, is noise
        ids = np.full((self.n_clusters_ + 1, top + 1), -1, dtype=np.int64)
        for k in range(self.n_clusters_):
            for cid in self.ancestors(k):
                ids[k, clusters[cid].level] = cid
        names = np.array([c.name for c in clusters] + [None], dtype=object)
        rows = np.where(labels >= 0, labels, self.n_clusters_)
        columns = {"cluster_id": labels}
        for level in range(top + 1):
            level_ids = ids[rows, level]
            level_names = names[np.where(level_ids >= 0, level_ids, len(clusters))]
            if level == 0:
                columns["cluster_name"] = level_names
                continue
            column = pd.array(np.where(level_ids >= 0, level_ids, 0), dtype="Int64")
            column[level_ids < 0] = pd.NA
            columns[f"level_{level}_id"] = column
            columns[f"level_{level}_name"] = level_names
        return columns

    def print_tree(self, *, max_depth=None, file=None):
        """Print the cluster tree: names, counts and shares of all conversations.

        Parameters
        ----------
        max_depth : int, default=None
            Levels shown below the roots; ``None`` shows every level.
        file : file-like, default=None
            Where to print; ``None`` is standard output.
        """
        from ..report import print_tree

        print_tree(self, max_depth=max_depth, file=file)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.non_deterministic = getattr(self.namer, "embeds_names", False)
        return tags
