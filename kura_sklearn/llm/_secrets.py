"""Keeping API keys out of messages: redaction, and a check on variable names.

Keys reach the library only through environment variables named by
``api_key_env``. Two things can still leak one: a server (or proxy) that
repeats the key in an error message, which would then flow into
:class:`LLMBatchError`, its ``failures`` and the warning log; and a key pasted
where the variable's *name* belongs, which a "variable not set" message would
print. :func:`redact` handles the first, :func:`check_api_key_env` the second.
"""

import re

#: What a key's value is replaced with in error text and logs.
REDACTED = "[REDACTED]"

#: Values shorter than this are not treated as secrets (the placeholder key
#: sent to self-hosted servers, or a test's one-letter key, are no secrets,
#: and masking short strings would garble ordinary words).
_MIN_SECRET_LENGTH = 8

#: Key values read in this process (never persisted, never logged).
_known = set()

_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
#: Prefixes of common API key formats (OpenAI, Stripe, Google, GitHub,
#: Hugging Face, Slack, GitLab).
_KEY_PREFIXES = (
    "sk-",
    "sk_",
    "rk_",
    "pk_",
    "AIza",
    "ghp_",
    "github_pat_",
    "hf_",
    "xox",
    "glpat-",
)


def remember_secret(value):
    """Have :func:`redact` mask ``value`` from now on in this process."""
    if isinstance(value, str) and len(value) >= _MIN_SECRET_LENGTH:
        _known.add(value)


def redact(text):
    """``text`` with every key read in this process replaced by ``[REDACTED]``.

    Examples
    --------
    >>> from kura_sklearn.llm._secrets import redact, remember_secret
    >>> remember_secret("sk-example-0123456789")
    >>> redact("Incorrect API key provided: sk-example-0123456789.")
    'Incorrect API key provided: [REDACTED].'
    """
    text = str(text)
    for secret in sorted(_known, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def looks_like_key(value):
    """Whether ``value``, given as a variable *name*, is more likely a key.

    A name that is no valid environment variable name, that starts like a
    known key format, or that is long and mixes lower-case letters and digits
    (variable names are by custom upper-case) is taken for a key.

    Examples
    --------
    >>> from kura_sklearn.llm._secrets import looks_like_key
    >>> looks_like_key("OPENAI_API_KEY"), looks_like_key("sk-proj-4f9a0c")
    (False, True)
    """
    if not isinstance(value, str):
        return False
    if not _VARIABLE_NAME.match(value) or value.startswith(_KEY_PREFIXES):
        return True
    return (
        len(value) >= 20
        and any(c.islower() for c in value)
        and any(c.isdigit() for c in value)
    )


def check_api_key_env(api_key_env):
    """Refuse an ``api_key_env`` that looks like a key, without showing it.

    Raises
    ------
    ValueError
        If ``api_key_env`` looks like a key (see :func:`looks_like_key`).
    """
    if looks_like_key(api_key_env):
        raise ValueError(
            "api_key_env must be the *name* of an environment variable that "
            "holds the key (such as 'OPENAI_API_KEY'), not the key itself. The "
            "value given looks like a key, so it is not shown here. Put the key "
            "in an environment variable and pass that variable's name."
        )
