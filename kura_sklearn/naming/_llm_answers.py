"""What LLM naming asks for and shows: answer schemas, examples within a budget."""

import math

import numpy as np
from pydantic import BaseModel, Field, field_validator

#: Characters kept of each example in a prompt, so prompts stay bounded.
EXAMPLE_CHARS = 300
MAX_NAME_WORDS = 10
#: Members of each nearby cluster read when looking for the nearest
#: non-members (a strided sample of larger clusters), so contrast costs the
#: same for a cluster of 10 and of 100,000.
_CONTRAST_POOL_PER_CLUSTER = 200


class ClusterNameAnswer(BaseModel):
    """The LLM's answer when naming one cluster: description first, then name.

    The description comes first so that the name is written from it (as in
    Clio). A name over :data:`MAX_NAME_WORDS` words fails validation, so the
    request is retried rather than the name cut mid-phrase.
    """

    description: str = Field(
        description="Two sentences in the past tense on what the users in this "
        "group asked for, specific to this group."
    )
    name: str = Field(
        description=f"Imperative sentence of at most {MAX_NAME_WORDS} words, "
        "specific to this group."
    )

    @field_validator("name")
    @classmethod
    def _at_most_max_words(cls, value):
        name = " ".join(value.split()).rstrip(".").strip()
        n_words = len(name.split())
        if not n_words:
            raise ValueError("the name is empty")
        if n_words > MAX_NAME_WORDS:
            raise ValueError(
                f"the name has {n_words} words; at most {MAX_NAME_WORDS} are allowed"
            )
        return name


class PrivacyAuditAnswer(BaseModel):
    """The auditor's answer on one cluster: the reasoning, then Clio's 1-5 rating."""

    justification: str = Field(
        description="One or two sentences on what in the text could identify "
        "someone, or why nothing can."
    )
    rating: int = Field(
        ge=1,
        le=5,
        description="1 identifies a person ... 5 holds no private information.",
    )


def clip(text, limit=EXAMPLE_CHARS):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def alternate(chosen, n_central):
    """``sample_examples``' central and random picks, interleaved.

    A budget that cuts the list then keeps both kinds, not only the most
    central ones.
    """
    chosen = list(chosen)
    central, rest = chosen[:n_central], chosen[n_central:]
    out = []
    for k in range(max(len(central), len(rest))):
        out.extend(side[k] for side in (central, rest) if k < len(side))
    return out


def nearest_outside(neighbour_members, embeddings, centroid, n):
    """The ``n`` texts of nearby clusters nearest ``centroid``, nearest first.

    Clio's contrast is the nearest non-members; they are looked for among
    the members of the nearest clusters, each read through a strided sample
    of at most :data:`_CONTRAST_POOL_PER_CLUSTER`, so the cost is bounded.
    """
    if n == 0 or not neighbour_members:
        return []
    pool = []
    for m in neighbour_members:
        step = max(1, math.ceil(len(m) / _CONTRAST_POOL_PER_CLUSTER))
        pool.append(np.asarray(m)[::step])
    pool = np.concatenate(pool)
    sims = embeddings[pool] @ centroid
    return [int(i) for i in pool[np.argsort(-sims, kind="stable")[:n]]]


def within_budget(lines, budget, at_least=0):
    """The first ``lines`` whose total length (one newline each) fits ``budget``."""
    out, used = [], 0
    for line in lines:
        if used + len(line) + 1 > budget and len(out) >= at_least:
            break
        out.append(line)
        used += len(line) + 1
    return out


def short_name(name):
    words = " ".join(name.split()).rstrip(".").split(" ")
    return " ".join(words[:MAX_NAME_WORDS])
