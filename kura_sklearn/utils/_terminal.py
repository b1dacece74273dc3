"""Text from conversations made safe to print on a terminal."""

import re

# C0 controls (but tab and newline), DEL and C1 controls: ESC starts the
# sequences that clear the screen, set colours or the window title, or
# rewrite what is already shown. Also the bidirectional overrides and
# isolates, which make a line read differently from its bytes.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_LINE_BREAKS = re.compile("[\n\t\u2028\u2029\x85]")


def terminal_safe(text, *, keep_newlines=False):
    """``text`` with every control character shown, not executed.

    Conversations are untrusted: a message (or a summary or cluster name
    drawn from it) may hold ``"\\x1b[2J"`` to clear the screen or worse. Each
    control character becomes its escape as text (``\\x1b``, ``\\u202e``),
    so a reader sees that it was there and the terminal does nothing.

    Parameters
    ----------
    text : str
        Text to print; other objects are converted with ``str``.
    keep_newlines : bool, default=False
        Keep newlines and tabs. By default they become spaces, so a name
        cannot forge extra lines of a tree or a table.

    Returns
    -------
    safe : str

    Examples
    --------
    >>> from kura_sklearn.utils import terminal_safe
    >>> terminal_safe("\\x1b[2Jhello\\nworld")
    '\\\\x1b[2Jhello world'
    """
    text = str(text)
    if not keep_newlines:
        text = _LINE_BREAKS.sub(" ", text)
    return _UNSAFE.sub(_escape, text)


def _escape(match):
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def count_of(n, noun, plural=None):
    """``"1 conversation"``, ``"2 conversations"``: a count with its noun.

    Parameters
    ----------
    n : int
    noun : str
        The singular.
    plural : str, default=None
        ``None`` adds an "s".

    Returns
    -------
    text : str
    """
    n = int(n)
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
