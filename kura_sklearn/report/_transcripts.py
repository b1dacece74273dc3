"""The conversations themselves in the report: who may read them, and how much.

The report's conversation viewer shows a conversation's messages when the
page carries them. Whether it does follows the fit's privacy settings unless
the caller says otherwise, messages are scrubbed of private information when
the summarizer scrubbed its input, and the members of withheld clusters never
have theirs embedded.
"""

import numpy as np

from ..privacy import scrub_pii

#: Characters of a message kept in the page; the viewer shows a longer
#: message's first part and says how long it was.
MESSAGE_CHARS = 5_000
#: Messages of a conversation kept in the page.
MAX_MESSAGES = 60
# scrubbing a little beyond the cut makes it fall after a placeholder, never
# inside an address that the cut would leave unrecognisable
_SCRUB_MARGIN = 100


def privacy_settings(estimator):
    """The privacy settings of a fit that keep transcripts out by default.

    Parameters
    ----------
    estimator : ConversationClusterer or Pipeline
        Fitted.

    Returns
    -------
    settings : list of str
        E.g. ``["min_unique_users=3"]``; empty when none is on.
    """
    from ._frames import fitted_clusterer

    clusterer = fitted_clusterer(estimator)
    found = [
        f"{name}={getattr(clusterer, name)}"
        for name in ("min_cluster_size", "min_unique_users")
        if (getattr(clusterer, name, 1) or 1) > 1
    ]
    namer = getattr(clusterer, "namer_", None) or getattr(clusterer, "namer", None)
    if getattr(namer, "audit_privacy", False):
        found.append("audit_privacy=True")
    return found


def scrubs_pii(estimator):
    """Whether the pipeline's summarizer scrubs its input (True without one)."""
    steps = [step for _, step in estimator.steps] if hasattr(estimator, "steps") else []
    for step in steps:
        if hasattr(step, "scrub_pii"):
            return bool(step.scrub_pii)
    return True


def _message(message, scrub):
    """``[role, text]``, or ``[role, text, length]`` for a message cut short."""
    original = str(message.content)
    text = original
    if scrub:
        text = scrub_pii(original[: MESSAGE_CHARS + _SCRUB_MARGIN])[0]
    role = getattr(message.role, "value", message.role)
    entry = [str(role), text[:MESSAGE_CHARS]]
    if len(original) > MESSAGE_CHARS or len(text) > MESSAGE_CHARS:
        entry.append(len(original))
    return entry


def transcripts_data(estimator, chat_ids, hidden_rows, conversations, transcripts):
    """The messages of each training conversation the page may show.

    Parameters
    ----------
    estimator : ConversationClusterer or Pipeline
        Fitted.
    chat_ids : sequence of str
        The page's conversations, in order.
    hidden_rows : ndarray of bool of shape (n_conversations,)
        Conversations in a withheld cluster (or below one): never embedded.
    conversations : sequence of Conversation or None
        Joined by chat_id; those not in ``chat_ids`` are ignored.
    transcripts : bool or None
        True includes them, False leaves them out, None includes them
        unless a privacy setting is on (:func:`privacy_settings`).

    Returns
    -------
    data : dict
        ``included`` (bool), ``note`` (why they are not, or how they were
        scrubbed), ``messages`` (per conversation a list of ``[role, text]``
        or ``[role, text, full_length]`` for a cut message, or None) and
        ``n_messages`` (each conversation's message count, or None), or
        ``None`` entries when not included.
    """
    settings = privacy_settings(estimator)
    if conversations is None:
        return {"included": False, "note": "not given to the report"}
    if transcripts is False:
        return {
            "included": False,
            "note": "left out of this report (transcripts=False)",
        }
    if transcripts is None and settings:
        return {
            "included": False,
            "note": "left out of this report because privacy settings are on ("
            + ", ".join(settings)
            + "); pass transcripts=True (--transcripts) to include them",
        }
    by_id = {str(c.chat_id): c for c in conversations}
    scrub = scrubs_pii(estimator)
    messages, counts = [], []
    for chat_id, hidden in zip(chat_ids, np.asarray(hidden_rows, dtype=bool)):
        conversation = None if hidden else by_id.get(str(chat_id))
        if conversation is None:
            messages.append(None)
            counts.append(None)
            continue
        counts.append(len(conversation.messages))
        messages.append(
            [_message(m, scrub) for m in conversation.messages[:MAX_MESSAGES]]
        )
    return {
        "included": True,
        "note": (
            "private information (e-mail addresses, phone and card numbers, "
            "names after a cue...) replaced by placeholders"
            if scrub
            else "not scrubbed of private information"
        ),
        "scrubbed": scrub,
        "message_chars": MESSAGE_CHARS,
        "messages": messages,
        "n_messages": counts,
        "n_withheld": int(np.sum(hidden_rows)),
    }
