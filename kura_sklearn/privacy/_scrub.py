"""Offline PII scrubbing: e-mail, phone, card, IBAN, IP, URL paths, long numbers, names.

Phone numbers are found by ``phonenumbers`` (Google's libphonenumber, which
knows every country's numbering plan, so "call 020 7946 0958" is a phone and
"order 2024 1234" is not); the other kinds by regular expressions with the
checks that keep false positives down (Luhn for cards, mod-97 for IBANs,
octet ranges for IPv4). People's names are found only after a cue ("my name
is", "I'm", "Dear", "Mr."...): there is no named-entity model offline, so a
bare name in running text survives; an LLM summary is the stronger layer.
"""

import contextlib
import contextvars
import ipaddress
import re
from collections import Counter

#: Kinds of private information removed, in the order they are replaced,
#: with their placeholders.
PII_PLACEHOLDERS = {
    "email": "[EMAIL]",
    "url": "[URL]",
    "iban": "[IBAN]",
    "card": "[CARD]",
    "ip": "[IP]",
    "phone": "[PHONE]",
    "number": "[NUMBER]",
    "name": "[NAME]",
}

_EMAIL = re.compile(
    r"(?<![\w.+-])[\w.+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*"
    r"\.[A-Za-z]{2,24}\b"
)
# a URL with a path or query (a bare domain names no one); "www." ones too
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']*[/?][^\s<>\"']*", re.IGNORECASE)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]){11,30}\b")
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_IPV4 = re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])")
# account, customer and ID numbers: 8 or more digits, run together or
# dash-grouped (space-grouped digits are often separate figures: "2024 1234")
# (not dates: 2025-05-02)
_NUMBER = re.compile(
    r"(?<![\w-])(?!\d{4}-\d\d-\d\d\b|\d\d-\d\d-\d{4}\b)\d(?:-?\d){7,}(?![\w-])"
)
_NAME_WORD = r"(?!(?:Mr|Mrs|Ms|Miss|Dr|Prof|I)\b|I['’])[A-Z][a-zà-ÿ'’-]+"
# a name after a strong cue ("my name is Ana"), or two capitalised words
# after a weak one ("I'm Ana Ruiz", not "I'm Spanish", "this is Python")
_NAME_STRONG = re.compile(
    r"(?i:\b(?:my name is|my name's|call me|signed|regards,|thanks,|cheers,|"
    r"sincerely,|dear|mr\.?|mrs\.?|ms\.?|miss|dr\.?|prof\.?))\s+"
    rf"({_NAME_WORD}(?:\s+{_NAME_WORD})?)"
)
_NAME_WEAK = re.compile(
    rf"(?i:\b(?:i am|i'm|i’m|this is|hi|hello),?)\s+({_NAME_WORD}\s+{_NAME_WORD})"
)
_DIGITS = re.compile(r"\d")
_PHONE_REGIONS = ("US", "GB", "DE", "FR", "IN")

_trackers = contextvars.ContextVar("kura_sklearn_pii_removed", default=())


def _luhn(text):
    digits = re.sub(r"\D", "", text)
    total = 0
    for i, d in enumerate(reversed(digits)):
        d = int(d)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _iban_valid(text):
    code = re.sub(r"[ -]", "", text)
    if not 15 <= len(code) <= 34:
        return False
    moved = code[4:] + code[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _ipv4_valid(text):
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def _sub(pattern, kind, text, counts, check=None, group=0):
    def replace(match):
        found = match.group(group)
        if check is not None and not check(found):
            return match.group(0)
        counts[kind] += 1
        start, end = match.span(group)
        whole = match.group(0)
        offset = match.start(0)
        return whole[: start - offset] + PII_PLACEHOLDERS[kind] + whole[end - offset :]

    return pattern.sub(replace, text)


def _phones(text, counts):
    # STRICT_GROUPING: a valid number whose digits are grouped as its country
    # writes them, so "02-05-2025" and "02.05.2025" (dates) are no phones
    import phonenumbers

    spans = []
    for region in _PHONE_REGIONS:
        for match in phonenumbers.PhoneNumberMatcher(
            text, region, leniency=phonenumbers.Leniency.STRICT_GROUPING
        ):
            if not any(s < match.end and match.start < e for s, e in spans):
                spans.append((match.start, match.end))
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + PII_PLACEHOLDERS["phone"] + text[end:]
        counts["phone"] += 1
    return text


def scrub_pii(text, *, skip=()):
    """Replace private information in ``text`` by placeholders such as ``[EMAIL]``.

    Parameters
    ----------
    text : str
        Any text: a message, a summary, a request.
    skip : collection of str, default=()
        Kinds (keys of :data:`PII_PLACEHOLDERS`) to leave alone, e.g.
        ``{"url"}`` where URLs are elided anyway.

    Returns
    -------
    scrubbed : str
        The text with each e-mail address, URL with a path, IBAN, card
        number (Luhn-checked), IPv4 address, phone number, other number of 8
        or more digits and cued person name replaced by its placeholder
        (:data:`PII_PLACEHOLDERS`).
    counts : collections.Counter
        How many of each kind were replaced.

    Examples
    --------
    >>> from kura_sklearn.privacy import scrub_pii
    >>> scrub_pii("I'm Ana Ruiz, mail ana.ruiz@example.org or +1 415 555 0132")[0]
    "I'm [NAME], mail [EMAIL] or [PHONE]"
    """
    counts = Counter()
    text = _sub(_EMAIL, "email", text, counts)
    if "url" not in skip:
        text = _sub(_URL, "url", text, counts)
    if _DIGITS.search(text):
        text = _sub(_IBAN, "iban", text, counts, check=_iban_valid)
        text = _sub(_CARD, "card", text, counts, check=_luhn)
        text = _sub(_IPV4, "ip", text, counts, check=_ipv4_valid)
        if len(_DIGITS.findall(text)) >= 5:
            text = _phones(text, counts)
        text = _sub(_NUMBER, "number", text, counts)
    text = _sub(_NAME_STRONG, "name", text, counts, group=1)
    text = _sub(_NAME_WEAK, "name", text, counts, group=1)
    _record(counts)
    return text, counts


@contextlib.contextmanager
def track_pii_removed():
    """Count what :func:`scrub_pii` removes inside the ``with`` block, per kind.

    The CLI writes the counts to ``run.json``; trackers nest, and nothing is
    kept when no one is tracking.

    Examples
    --------
    >>> from kura_sklearn.privacy import scrub_pii, track_pii_removed
    >>> with track_pii_removed() as removed:
    ...     _ = scrub_pii("write to bo@example.com")
    >>> dict(removed)
    {'email': 1}
    """
    removed = Counter()
    token = _trackers.set(_trackers.get() + (removed,))
    try:
        yield removed
    finally:
        _trackers.reset(token)


def _record(counts):
    if counts:
        for removed in _trackers.get():
            removed.update(counts)
