"""Text helpers: text cut to a length (names, quotes, hover text, errors) and slugs."""

import re
import unicodedata


def shorten(text, limit, *, ellipsis="\u2026", collapse=True):
    """``text`` cut to at most ``limit`` characters, ending in ``ellipsis`` if cut.

    Parameters
    ----------
    text : str
        Any object is converted with ``str``; None gives "".
    limit : int
        Most characters of the result, the ellipsis included.
    ellipsis : str, default="…"
        Marks a cut text. Prompts keep "..." so that their cached answers
        stay valid.
    collapse : bool, default=True
        Fold runs of whitespace (newlines included) into single spaces
        first, so a quote stays on one line.

    Returns
    -------
    text : str

    Examples
    --------
    >>> from kura_sklearn.utils import shorten
    >>> shorten("Book a one way   flight to Lisbon", 20)
    'Book a one way flig…'
    >>> shorten("Book a flight", 20)
    'Book a flight'
    >>> shorten("a b c d e f g h", 8, ellipsis="...")
    'a b c...'
    """
    text = "" if text is None else str(text)
    if collapse:
        text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: max(limit - len(ellipsis), 0)].rstrip() + ellipsis


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
