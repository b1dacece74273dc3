"""ConversationClusterer: embed, cluster, name, build the hierarchy, map.

Over 500 lines: a third of it is the estimator's numpydoc (parameters,
attributes, examples), its user documentation; placement, inputs, parts and
withholding live in their own modules.
"""

import inspect
import logging
import time
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, _fit_context, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted

from ..cluster import outlier_thresholds
from ..hierarchy import build_hierarchy
from ..llm import USAGE_FIELDS, record_usage, track_llm_usage
from ..utils import VersionStampMixin, centroids
from ._inputs import _as_frame, _check_summaries, _facets, _user_ids
from ._labels import _renumber, place
from ._language_groups import name_language_groups
from ._parts import _default_parts, _with_seed, _with_verbose
from ._withhold import withhold, withhold_base_names

logger = logging.getLogger(__name__)


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
    text_column : str, default="summary"
        The facet of the summarizer's output the tree is built over: embedded,
        clustered and named. ``"request"`` groups conversations by what users
        asked for, ``"task"`` (with an LLM) by what the assistant did, or any
        field of a custom summary schema (Kura's one tree per facet). Other
        columns than ``"summary"`` need the summarizer's DataFrame (or its
        default output) and a text in every row; ``predict`` reads the same
        column. Several trees over one set of summaries: summarise once and
        fit a clone per column (``docs/system.md``).
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
    tree_ : ClusterTree
        The named base clusters and meta-clusters, with the walks over them
        (``ancestors``, ``root_of``, ``ancestor_matrix``...); clusters
        below the privacy thresholds are withheld in it.
    clusters_ : tuple of Cluster
        Every base and meta cluster, indexed by id (``tree_.clusters``).
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
        The training texts clustered: the ``text_column`` of each summary.
    facets_ : dict of str to list
        The other columns of a summarizer DataFrame passed to ``fit`` (with
        ``summary`` among them when ``text_column`` is another)
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
    >>> len(set(labels)), len(model.tree_.roots) <= 2
    (3, True)
    >>> model.tree_.root_of(labels[0]) == model.ancestors(labels[0])[-1]
    True
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
        "text_column": [str],
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
        text_column="summary",
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
        self.text_column = text_column
        self.random_state = random_state
        self.verbose = verbose

    def _parts(self):
        """Clones of the parts (defaults where None), seeded, and the seed."""
        seed = None
        if self.random_state is not None:
            rng = check_random_state(self.random_state)
            seed = int(rng.randint(np.iinfo(np.int32).max))
        parts = []
        values = (self.embedder, self.clusterer, self.namer, self.projector)
        for value, default in zip(values, _default_parts()):
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
        texts, ids = _check_summaries(X, self.text_column)
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
        centroids_ = centroids(embeddings, labels, range(n_clusters)).astype(
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
            users = _user_ids(X, ids)
            base_names = withhold_base_names(
                [names[c] for c in range(n_clusters)],
                labels,
                users=users,
                min_cluster_size=self.min_cluster_size,
                min_unique_users=self.min_unique_users,
            )
            tree, per_level = build_hierarchy(
                base_names,
                labels,
                texts,
                embeddings,
                namer=namer,
                embed_names=embedder.transform,
                max_clusters=self.max_clusters,
                max_levels=self.max_levels,
                chat_ids=ids,
                random_state=seed,
                verbose=self.verbose,
            )
            scores, audit_calls = None, None
            if getattr(namer, "audit_privacy", False):
                _stage("audit")
                scores, audit_calls = namer.audit_clusters(list(tree))
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
        facets = _facets(X, self.text_column)
        tree = name_language_groups(tree, labels, facets.get("languages"))
        tree = withhold(
            tree,
            labels,
            users=users,
            privacy_scores=scores,
            min_cluster_size=self.min_cluster_size,
            min_unique_users=self.min_unique_users,
        )
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
        self.facets_ = facets
        self.tree_ = tree
        self.llm_usage_ = _count_fallbacks(tree, usage)
        if self.store_embeddings:
            self.embeddings_ = embeddings
        elif hasattr(self, "embeddings_"):
            # a previous fit's embeddings describe other summaries: scorers
            # would reuse them for these (issue 12)
            del self.embeddings_
        _stage("done")
        return self

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
        texts, ids = _check_summaries(_as_frame(X), self.text_column)
        embeddings = np.asarray(self.embedder_.transform(texts))
        labels, nearest, distances = place(
            embeddings,
            self.clusterer_,
            self.label_map_,
            self.centroids_,
            getattr(self, "outlier_thresholds_", None),
        )
        return labels, nearest, distances, ids

    @property
    def clusters_(self):
        """Every base and meta cluster, indexed by id: ``tree_.clusters``."""
        return self.tree_.clusters

    def ancestors(self, cluster_id):
        """Ids from ``cluster_id`` up to its root, inclusive (``tree_.ancestors``)."""
        check_is_fitted(self)
        return self.tree_.ancestors(cluster_id)

    def hierarchy_frame(self):
        """One row per cluster (base and meta): the tidy tree.

        See :func:`kura_sklearn.report.hierarchy_frame`.

        Returns
        -------
        frame : pandas.DataFrame
            Columns: id, name, description, slug, parent_id, level, count,
            member_ids, children, x, y, keywords, mean_concerning_score,
            hidden, name_source, n_users, privacy_score; indexed by id.
        """
        from ..report import hierarchy_frame

        return hierarchy_frame(self)

    def conversation_frame(self):
        """One row per training summary: its base cluster and every ancestor.

        See :func:`kura_sklearn.report.conversation_frame`.

        Returns
        -------
        frame : pandas.DataFrame
            Indexed by chat_id. Columns: summary, the facets seen at ``fit``
            (see ``facets_``), cluster_id, cluster_name, then
            ``level_1_id``/``level_1_name``... up to the top level, and x, y.
            Noise rows have cluster_id -1 and empty names.
        """
        from ..report import conversation_frame

        return conversation_frame(self)

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
