"""Offline cluster names a person would write: the phrase or request that
best says what the members ask, chosen KeyBERT's way.

Candidates are the members' own words: the phrases of one to ``max_words``
words (never starting or ending on a function word) that enough members
share, and the short sentences of the members nearest the centroid, trimmed
of openers such as "I want to". Each candidate is embedded with the
clusterer's own embedder and scored by its cosine similarity to the
cluster's centroid (the members' mean embedding), as KeyBERT scores key
phrases against a document; the best one is the name. One odd member cannot
name its cluster: its phrases are not shared and it is not central. The
keywords (c-TF-IDF) stay in their own field, and the description quotes the
most typical requests.
"""

import logging
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.utils._param_validation import Interval

from ._base import (
    ClusterName,
    MemberTexts,
    centroids,
    group_directions,
    group_indices,
)
from ._candidates import (
    _MAX_CHARS,
    _MAX_MEMBERS,
    _english,
    _first_quotes,
    _phrase_analyzer,
    _spread,
    central_sentences,
    children_share,
    phrase_edge_words,
)
from ._keywords import KeywordNamer, _quote, _sizes

logger = logging.getLogger(__name__)

#: Joins two children's names when no phrase covers their parent.
JOINED = " · "

#: Smallest share of a parent's children that must use its phrase.
_MIN_COVER = 1 / 3
#: A parent's phrase must be at least this share as near its centroid as
#: its children's names are, on average.
_FLOOR = 0.9


class KeyphraseNamer(KeywordNamer):
    """Name clusters offline with the phrase their members share that best
    matches the cluster's meaning.

    The offline default of :class:`kura_sklearn.ConversationClusterer`: no
    generative model and no network, only the clusterer's own embedder.
    Candidate names are the phrases of one to ``max_words`` words that at
    least ``min_share`` of a cluster's members use (and at least two of
    them), and the requests (first sentences, up to 12 words) of its 20
    most central members, trimmed of function words and openers ("I want
    to", "can you"), each also cut to its opening that enough members share.
    Each is embedded and scored by its cosine similarity to the cluster's
    centroid; the best one becomes the name, e.g. "Reset my password" or
    "Find me a one way flight". Parents are named the same way from all
    their members, with the phrases at least a third of their children use,
    weighted by that share and by how few sibling parents use them, so a
    parent's name covers its children ("Flights", "Hotel"); a phrase must
    also sit nearer the parent's centre than any sibling's, and about as
    near as its children's names do on average, else the parent is named by
    the two children's names nearest its centre, joined by " · ". Siblings
    never share a name. The c-TF-IDF keywords of :class:`KeywordNamer` are
    kept in ``keywords``; the description quotes the most typical requests
    (and, for a parent, its largest children).
    A cluster with no shared phrase (a single member, or nothing in common)
    falls back to its keywords.

    Parameters
    ----------
    max_words : int, default=4
        Longest candidate phrase, in words.
    min_share : float, default=0.1
        Smallest share of a cluster's members that must use a phrase for it
        to be a candidate.
    n_candidates : int, default=20
        Candidates embedded per cluster: the most distinctive ones by
        c-TF-IDF, so the cost is bounded by the number of clusters.
    n_examples : int, default=3
        Typical requests quoted in the description.
    n_keywords : int, default=3
        Keywords kept in the ``keywords`` field.
    stop_words : "auto", "english", list of str or None, default="auto"
        Words a phrase may not start or end with (and never a keyword);
        "auto" adds request fillers and the function words of six more
        languages to scikit-learn's English list.
    verbose : int, default=0
        0 is silent; above 0, naming logs its start and end at INFO level.

    See Also
    --------
    KeywordNamer : Keyword names, no embedding; for millions of clusters.
    LLMNamer : Names written by an LLM.

    Notes
    -----
    Without ``embed`` (a namer used outside
    :class:`~kura_sklearn.ConversationClusterer`), candidates are ranked by
    share and distinctiveness alone.

    Examples
    --------
    >>> import numpy as np
    >>> from kura_sklearn.naming import KeyphraseNamer
    >>> texts = ["how do I reset my password", "reset my password please",
    ...          "I need to reset my password now", "bake bread at home",
    ...          "how to bake bread", "bake bread without yeast"]
    >>> X = np.array([[1, 0], [1, .1], [1, .2], [0, 1], [.1, 1], [.2, 1]])
    >>> names, n_calls = KeyphraseNamer().name_clusters(texts, [0, 0, 0, 1, 1, 1], X)
    >>> names[0].name, names[1].name, n_calls
    ('Reset my password', 'Bake bread', 0)
    """

    _parameter_constraints: dict = {
        "max_words": [Interval(Integral, 1, None, closed="left")],
        "min_share": [Interval(Real, 0, 1, closed="both")],
        "n_candidates": [Interval(Integral, 1, None, closed="left")],
        "n_examples": [Interval(Integral, 0, None, closed="left")],
        "n_keywords": [Interval(Integral, 1, None, closed="left")],
        "stop_words": [str, list, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        max_words=4,
        *,
        min_share=0.1,
        n_candidates=20,
        n_examples=3,
        n_keywords=3,
        stop_words="auto",
        verbose=0,
    ):
        self.max_words = max_words
        self.min_share = min_share
        self.n_candidates = n_candidates
        self.n_examples = n_examples
        self.n_keywords = n_keywords
        self.stop_words = stop_words
        self.verbose = verbose

    # KeywordNamer's keyword settings, fixed here
    ngram_range = (1, 2)

    def name_clusters(
        self, texts, labels, embeddings, *, embed=None, random_state=None
    ):
        """Name every cluster of ``labels`` (noise, -1, excluded).

        Parameters
        ----------
        texts : list of str
            The summaries.
        labels : array-like of shape (n_texts,)
            Base cluster of each text.
        embeddings : ndarray of shape (n_texts, n_features)
            Their embeddings.
        embed : callable, default=None
            Embeds a list of strings with the same model as ``embeddings``;
            candidate phrases are scored with it.
        random_state : ignored
            Naming is deterministic.

        Returns
        -------
        names : dict of int to ClusterName
        n_calls : int
            LLM calls made: always 0.
        """
        return super().name_clusters(
            texts, labels, embeddings, embed=embed, random_state=random_state
        )

    def _name(self, texts, labels, embeddings, cluster_ids, embed=None):
        """ClusterName of each of ``cluster_ids``, from its members' words."""
        labels = np.asarray(labels)
        embeddings = np.asarray(embeddings)  # a memmap stays a view, not a copy
        cents = centroids(embeddings, labels, cluster_ids)
        members = group_indices(labels, cluster_ids)
        examples = [
            self._typical(texts, m, embeddings, cents[row])
            for row, m in enumerate(members)
        ]
        keywords = self._keywords(texts, members)
        sentences = [
            central_sentences(
                texts, m, embeddings, cents[row], self._edge_words(), self.min_share
            )
            for row, m in enumerate(members)
        ]
        phrases = self._phrases(
            texts, members, [None] * len(members), cents, embed, sentences
        )
        return {
            c: self._record(phrases[row], keywords[row], examples[row], len(m))
            for row, (c, m) in enumerate(zip(cluster_ids, members))
        }

    def name_groups(
        self,
        children,
        assignment,
        member_texts,
        vectors,
        *,
        embed=None,
        random_state=None,
    ):
        """Name the parents of grouped clusters from all their members.

        Parameters
        ----------
        children : list of ClusterName
            The clusters grouped.
        assignment : array-like of int, shape (n_children,)
            Group ``0..m-1`` of each child.
        member_texts : list of list of str or MemberTexts
            The texts of each child's members.
        vectors : ndarray of shape (n_children, n_features)
            The children's centroids.
        embed : callable, default=None
            Embeds candidate phrases, as in :meth:`name_clusters`.
        random_state : ignored

        Returns
        -------
        parents : list of ClusterName
            One per group, in group order.
        """
        self._validate_params()
        if not isinstance(member_texts, MemberTexts):
            flat = [t for child in member_texts for t in child]
            bounds = np.cumsum([0] + [len(child) for child in member_texts])
            member_texts = MemberTexts(
                flat, [np.arange(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
            )
        assignment = np.asarray(assignment, dtype=np.intp)
        vectors = np.asarray(vectors, dtype=np.float64)
        sizes = _sizes(member_texts)
        n_parents = int(assignment.max()) + 1 if len(assignment) else 0
        groups = group_indices(assignment, range(n_parents))
        cents = group_directions(vectors, sizes, assignment, n_parents)
        members, child_of = [], []
        for group in groups:
            rows = [np.asarray(member_texts.members[i]) for i in group]
            members.append(np.concatenate(rows) if rows else np.empty(0, np.intp))
            child_of.append(np.repeat(np.arange(len(group)), [len(r) for r in rows]))
        texts = member_texts.texts
        keywords = self._keywords(texts, members)
        # a parent's name is a phrase a third of its children share at least
        floors, names = None, None
        if embed is not None and len(children):
            # a parent's phrase must say as much about it as its children's
            # names do (on average); else it is a stray shared word
            try:
                names = np.asarray(embed([c.name for c in children]), dtype=float)
            except KeyError:  # a precomputed store: no new text is embedded
                names, embed = None, None
        if names is not None:
            names /= np.maximum(np.linalg.norm(names, axis=1, keepdims=True), 1e-12)
            floors = [
                _FLOOR * float(np.mean(names[g] @ cents[p]))
                for p, g in enumerate(groups)
            ]
        phrases = self._phrases(texts, members, child_of, cents, embed, floors=floors)
        parents = []
        for p, group in enumerate(groups):
            # children nearest the centre first: their requests are the
            # parent's most typical, their names say what it gathers
            order = group[np.argsort(-(vectors[group] @ cents[p]), kind="stable")]
            examples = []
            for i in order:
                examples.extend(_first_quotes(children[i].description)[:1])
            by_size = group[np.argsort(-sizes[group], kind="stable")]
            phrase = phrases[p]
            if phrase is None and len(by_size):
                # no phrase shared widely and meaning enough: the parent is
                # named after the two children whose names sit nearest its
                # centre (without an embedder, its two largest children)
                by_name = by_size
                if names is not None:
                    near = -(names[by_size] @ cents[p])
                    by_name = by_size[np.argsort(near, kind="stable")]
                # a withheld child's notice names nothing: it is "Other"
                shown = [i for i in by_name if children[i].source != "withheld"]
                firsts = [children[i].name.split(JOINED)[0] for i in shown]
                firsts = list(dict.fromkeys(firsts))[:2]
                if len(firsts) < 2 and len(shown) < len(by_name):
                    firsts.append("Other")
                phrase = JOINED.join(firsts)
            parents.append(
                self._record(
                    phrase,
                    keywords[p],
                    examples[: self.n_examples],
                    int(sizes[group].sum()),
                    parts=[children[i].name for i in by_size],
                )
            )
        return parents

    def _keywords(self, texts, members):
        """c-TF-IDF keywords of groups of texts (lists of indices into ``texts``)."""
        from ._keywords import _top_terms, term_matrix

        kept = [np.asarray(m)[_spread(len(m), _MAX_MEMBERS)] for m in members]
        rows = np.concatenate(kept) if kept else np.empty(0, np.intp)
        matrix = term_matrix(
            [texts[i][:_MAX_CHARS] for i in rows], self.ngram_range, self.stop_words
        )
        if matrix is None:
            return [[] for _ in members]
        dtm, vocabulary = matrix
        dtm.data[:] = 1  # a member counts a term once: one long text cannot dominate
        groups = np.repeat(np.arange(len(kept)), [len(m) for m in kept])
        found = _top_terms(
            dtm,
            np.arange(len(rows)),
            groups,
            np.arange(len(kept)),
            vocabulary,
            self.n_keywords,
        )
        return [found[g] for g in range(len(kept))]

    def _edge_words(self):
        stop = self.stop_words
        if isinstance(stop, str):
            stop = phrase_edge_words() if stop == "auto" else _english()
        return stop or []

    def _phrases(self, texts, members, child_of, cents, embed, extra=None, floors=None):
        """The best candidate phrase of each group of texts (None if none).

        Candidates are the phrases shared by enough members and, when given,
        ``extra[g]`` (sentences of central members). ``child_of[g]``, when
        not None, gives the child of each member of group ``g``: a parent's
        phrases must be used by a third of its children (and two), and sit at
        least ``floors[g]`` near its centroid, nearer it than any other
        group's (``cents`` are all the siblings' centroids).
        """
        analyzer = _phrase_analyzer(self._edge_words(), self.max_words)
        # at most _MAX_MEMBERS members per group, spread over all its children
        picks = [_spread(len(m), _MAX_MEMBERS) for m in members]
        kept = [np.asarray(m)[p] for m, p in zip(members, picks)]
        child_of = [c if c is None else c[p] for c, p in zip(child_of, picks)]
        rows = np.concatenate(kept) if kept else np.empty(0, np.intp)
        vectorizer = CountVectorizer(analyzer=analyzer, binary=True, dtype=np.int32)
        try:
            dtm = vectorizer.fit_transform([texts[i] for i in rows]).tocsc()
        except ValueError:  # no candidate in any text
            return [None] * len(members)
        vocabulary = vectorizer.get_feature_names_out()
        groups = np.repeat(np.arange(len(kept)), [len(m) for m in kept])
        indicator = sparse.csr_matrix(
            (np.ones(len(rows)), (groups, np.arange(len(rows)))),
            shape=(len(kept), len(rows)),
        )
        df = (indicator @ dtm).tocsr()  # members of each group using each phrase
        df.eliminate_zeros()
        n_groups_using = np.asarray((df > 0).sum(axis=0)).ravel()
        idf = np.log1p(len(kept) / np.maximum(n_groups_using, 1))
        chosen_terms = []
        for g, m in enumerate(kept):
            lo, hi = df.indptr[g], df.indptr[g + 1]
            terms, counts = df.indices[lo:hi], df.data[lo:hi]
            need = max(2, int(np.ceil(self.min_share * len(m))))
            ok = counts >= need
            cover = np.ones(len(terms))
            if child_of[g] is not None and ok.any():
                cover = children_share(dtm, kept, g, terms, child_of[g])
                # by a third of the children at least (the share is 0 below
                # two children); the score then favours the most used
                ok &= cover >= _MIN_COVER
            terms, counts, cover = terms[ok], counts[ok], cover[ok]
            if not len(terms):
                chosen_terms.append((np.empty(0, np.intp), np.empty(0), cover))
                continue
            share = counts / len(m)
            order = np.lexsort((terms, -(share * idf[terms])))[: self.n_candidates]
            chosen_terms.append((terms[order], share[order], cover[order]))
        candidates = []
        for g, (terms, _, _) in enumerate(chosen_terms):
            found = [str(vocabulary[t]) for t in terms]
            if extra is not None:
                shared = set(found)
                found += [c for c in dict.fromkeys(extra[g]) if c not in shared]
            candidates.append(found)
        if embed is not None:
            unique = sorted({c for found in candidates for c in found})
            position = {c: i for i, c in enumerate(unique)}
            try:
                vectors = np.asarray(embed(unique) if unique else [], dtype=float)
            except KeyError:
                # an embedder that cannot embed new text (a precomputed
                # store without fallback): rank by share and distinctiveness
                logger.info("Candidate names cannot be embedded; ranking by share")
                embed = None
            if embed is not None and unique:
                vectors /= np.maximum(
                    np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12
                )
        out, taken = [], set()
        for g, (terms, share, cover) in enumerate(chosen_terms):
            found = candidates[g]
            if not found:
                out.append(None)
            elif embed is not None:
                # KeyBERT: the candidate nearest the centroid; on a tie the
                # shorter, then the first
                rows = vectors[[position[c] for c in found]]
                sims = rows @ cents[g]
                if floors is not None:
                    # a parent's phrase says as much as its children's names
                    # and points to it: no sibling's centre is nearer
                    ok = sims >= floors[g]
                    if len(cents) > 1:
                        ok &= np.argmax(rows @ cents.T, axis=1) == g
                    if not ok.any():
                        out.append(None)
                        continue
                    sims = np.where(ok, sims, -np.inf)
                # a parent's phrase counts as much as the share of its
                # children that use it: the name should cover them
                sims[: len(cover)] *= cover
                if child_of[g] is not None and len(kept) > 1:
                    # and as much as it is particular to this parent among
                    # its siblings ("going" is in every travel parent)
                    sims[: len(terms)] *= np.sqrt(idf[terms] / np.log1p(len(kept)))
                lengths = np.asarray([c.count(" ") for c in found])
                ranked = np.lexsort((lengths, -np.round(sims, 6)))
                # siblings never share a name: the next best one if taken
                pick = next((i for i in ranked if found[i] not in taken), ranked[0])
                taken.add(found[pick])
                out.append(found[pick])
            elif len(terms):
                # no embedder: the most shared and distinctive phrase, the
                # longer on a tie
                score = share * idf[terms]
                lengths = np.asarray([found[i].count(" ") for i in range(len(terms))])
                out.append(found[np.lexsort((terms, -lengths, -score))[0]])
            else:
                out.append(found[0])
        return out

    def _typical(self, texts, members, embeddings, centroid):
        """The ``n_examples`` most central distinct texts of a cluster."""
        if not self.n_examples or not len(members):
            return []
        sims = np.asarray(embeddings[members]) @ centroid
        out, seen = [], set()
        for i in members[np.argsort(-sims, kind="stable")]:
            quote = _quote(texts[i], 120).replace('"', "'")
            if quote.lower() not in seen:
                seen.add(quote.lower())
                out.append(quote)
            if len(out) == self.n_examples:
                break
        return out

    def _record(self, phrase, keywords, examples, size, parts=()):
        """The ClusterName of one cluster (``parts``: its children's names)."""
        words = keywords or ["misc"]
        if phrase is None:
            phrase = ", ".join(words)
        name = phrase[0].upper() + phrase[1:]
        noun = "conversation" if size == 1 else "conversations"
        description = f"{size} {noun}."
        if parts:
            shown = "; ".join(parts[:4]) + ("; ..." if len(parts) > 4 else "")
            description = f"{size} {noun} in {len(parts)} groups: {shown}."
        if examples:
            quoted = "; ".join(f'"{e}"' for e in examples)
            description += f" Typical requests: {quoted}."
        return ClusterName(name=name, description=description, keywords=tuple(words))
