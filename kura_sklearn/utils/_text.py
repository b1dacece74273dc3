"""Text cut to a length: the one helper for names, quotes, hover text and errors."""


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
