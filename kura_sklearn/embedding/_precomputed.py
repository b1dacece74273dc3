"""Embeddings computed earlier, looked up by text in a memory-mapped store."""

import functools
import hashlib
import os
from pathlib import Path

import numpy as np
from sklearn.utils._param_validation import HasMethods

from ..utils import check_texts
from ._base import _StatelessTextEmbedder

_EMBEDDINGS = "embeddings.npy"
_KEYS = "keys.npy"
_CHUNK = 65536


def text_keys(texts):
    """64-bit content key of each text (BLAKE2b of its UTF-8 bytes).

    At a million distinct texts the chance that two share a key is about
    3e-8.

    Examples
    --------
    >>> from kura_sklearn.embedding import text_keys
    >>> text_keys(["a", "b", "a"]).tolist()[0] == text_keys(["a"]).tolist()[0]
    True
    """
    return np.fromiter(
        (
            int.from_bytes(
                hashlib.blake2b(t.encode("utf-8"), digest_size=8).digest(), "little"
            )
            for t in texts
        ),
        dtype=np.uint64,
        count=len(texts),
    )


def save_embedding_store(path, texts, embeddings=None):
    """Write a store that :class:`PrecomputedEmbedder` reads.

    Parameters
    ----------
    path : str or path
        A directory; created if missing. It receives ``embeddings.npy``
        (float32, one row per text, in the order given) and ``keys.npy``
        (the texts' content keys, see :func:`text_keys`).
    texts : sequence of str
        The text of each row.
    embeddings : array-like of shape (n_texts, n_features), default=None
        The vectors, copied in blocks (a memory-mapped array is never loaded
        whole). ``None`` writes the keys only, for an ``embeddings.npy``
        already in ``path`` (e.g. written in chunks by
        ``numpy.lib.format.open_memmap``).

    Returns
    -------
    path : pathlib.Path
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    texts = check_texts(texts)
    if embeddings is not None:
        n, d = np.shape(embeddings)
        if n != len(texts):
            raise ValueError(f"{len(texts)} texts but {n} embeddings.")
        out = np.lib.format.open_memmap(
            path / _EMBEDDINGS, mode="w+", dtype=np.float32, shape=(n, d)
        )
        for start in range(0, n, _CHUNK):
            out[start : start + _CHUNK] = embeddings[start : start + _CHUNK]
        out.flush()
        del out
    else:
        stored = np.load(path / _EMBEDDINGS, mmap_mode="r")
        if len(stored) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(stored)} embeddings.")
    np.save(path / _KEYS, text_keys(texts))
    _open_store.cache_clear()
    return path


@functools.lru_cache(maxsize=4)
def _open_store(path, stamp):
    """The store's memmap, its keys in row order and sorted for look-up.

    Cached per file state.
    """
    embeddings = np.load(Path(path) / _EMBEDDINGS, mmap_mode="r")
    keys = np.load(Path(path) / _KEYS)
    order = np.argsort(keys, kind="stable")
    return embeddings, keys, keys[order], order


def _stamp(path):
    """What changes when the store is rewritten: size and mtime of both files."""
    stats = [os.stat(Path(path) / name) for name in (_EMBEDDINGS, _KEYS)]
    return tuple((s.st_size, s.st_mtime_ns) for s in stats)


class PrecomputedEmbedder(_StatelessTextEmbedder):
    """Texts to embeddings computed earlier, read from a memory-mapped store.

    For inputs too large to embed in every fit (a million conversations) or
    embedded elsewhere: write the vectors once with
    :func:`save_embedding_store`, then use this embedder wherever an embedder
    goes (``ConversationClusterer(embedder=PrecomputedEmbedder(path))``). It
    is a stateless transformer like the others: ``transform`` looks each text
    up by its content key, so subsets (cross-validation folds), reordered
    input and ``predict`` on stored texts all get the right rows. Only the
    path is a parameter: clones and pickles stay small.

    Parameters
    ----------
    path : str or path
        Directory written by :func:`save_embedding_store`.
    fallback : transformer, default=None
        Embeds texts missing from the store (e.g. new conversations, or
        cluster names when :class:`~kura_sklearn.naming.LLMNamer` embeds
        them); it must produce vectors of the store's dimension. ``None``
        raises ``KeyError`` for a missing text.

    See Also
    --------
    SentenceTransformerEmbedder : Computes the embeddings.

    Notes
    -----
    When the texts are exactly the stored rows in order, ``transform``
    returns the read-only memory map itself: nothing is copied, and the
    operating system pages rows in as they are read, so a million 384-d
    float32 vectors (1.5 GB) need not fit in memory at once. Any other
    request returns a copy of the rows asked for. The store is opened once
    per process and reopened when its files change.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from kura_sklearn.embedding import PrecomputedEmbedder, save_embedding_store
    >>> texts = ["reset my password", "bake bread", "translate hello"]
    >>> vectors = np.eye(3, dtype=np.float32)
    >>> store = save_embedding_store(tempfile.mkdtemp(), texts, vectors)
    >>> PrecomputedEmbedder(store).transform(["bake bread", "reset my password"])
    array([[0., 1., 0.],
           [1., 0., 0.]], dtype=float32)
    """

    _parameter_constraints: dict = {
        "path": [str, os.PathLike],
        "fallback": [HasMethods(["transform"]), None],
    }

    def __init__(self, path, *, fallback=None):
        self.path = path
        self.fallback = fallback

    def _store(self):
        return _open_store(str(Path(self.path).resolve()), _stamp(self.path))

    def transform(self, X):
        """The stored embedding of each text.

        Parameters
        ----------
        X : iterable of str, Series, or DataFrame with a ``summary`` column
            Texts. A bare string is rejected.

        Returns
        -------
        embeddings : ndarray of shape (n_texts, n_features), dtype float32
            The store's memory map itself when ``X`` is exactly its rows in
            order (read-only), else a copy of the rows asked for. A text
            stored more than once is then looked up by content and gets one
            of its rows.
        """
        self._validate_params()
        texts = check_texts(X)
        embeddings, row_keys, sorted_keys, order = self._store()
        keys = text_keys(texts)
        # the store's own rows in order (repeated texts included): no copy
        if np.array_equal(keys, row_keys):
            return embeddings
        pos = np.minimum(np.searchsorted(sorted_keys, keys), max(len(order) - 1, 0))
        found = sorted_keys[pos] == keys if len(order) else np.zeros(len(keys), bool)
        rows = order[pos]
        if found.all():
            return np.asarray(embeddings[rows], dtype=np.float32)
        missing = np.flatnonzero(~found)
        if self.fallback is None:
            raise KeyError(
                f"{len(missing)} of {len(texts)} texts are not in the embedding "
                f"store {str(self.path)!r} (the first at position {missing[0]}); "
                "pass fallback=an embedder to embed them."
            )
        out = np.empty((len(texts), embeddings.shape[1]), dtype=np.float32)
        present = np.flatnonzero(found)
        out[present] = embeddings[rows[present]]
        out[missing] = self.fallback.transform([texts[i] for i in missing])
        return out

    def _embedding_dimension(self):
        return self._store()[0].shape[1]
