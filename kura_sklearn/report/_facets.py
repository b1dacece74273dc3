"""What the report filters and breaks clusters down by: facets, metadata, time.

Every facet becomes a short list of values and one code per conversation, so
the page can filter all its views and count any cluster's breakdown without
carrying the values' text once per conversation. Times become day numbers,
and the trends come from :func:`trends_table` and :func:`growth_table`.
"""

from collections import Counter

import numpy as np

#: A metadata field with more distinct values than this is an id (user_id,
#: session) or free text, not a category to filter by.
MAX_METADATA_VALUES = 30
#: Values listed per facet, most frequent first; the rest count as "other".
MAX_FACET_VALUES = 40
#: Fastest growing clusters listed.
GROWTH_ROWS = 10

_SCORES = [str(score) for score in range(1, 6)]


def _missing(value):
    return value is None or (isinstance(value, float) and value != value)


def _coded(values, *, multi=False, order=None):
    """A facet's distinct values (most frequent first) and each row's codes.

    ``values`` holds one value per row (a list of values when ``multi``),
    None when missing. Returns ``(names, counts, codes)``: a row's code is
    an index into ``names`` (-1 when missing or rarer than the listed
    values), a list of indices when ``multi``.
    """
    counter = Counter()
    for value in values:
        if multi:
            counter.update(set(value or ()))
        elif value is not None:
            counter[value] += 1
    if order is None:
        order = sorted(counter, key=lambda v: (-counter[v], v))[:MAX_FACET_VALUES]
    index = {value: i for i, value in enumerate(order)}
    if multi:
        codes = [
            sorted({index[v] for v in (value or ()) if v in index}) for value in values
        ]
    else:
        codes = [index.get(value, -1) for value in values]
    return list(order), [int(counter[v]) for v in order], codes


def _score(value):
    """A 1-5 score as its rounded label, None when missing."""
    if _missing(value):
        return None
    return str(int(min(max(round(float(value)), 1), 5)))


def summary_facets(table):
    """The LLM and offline facets of the summaries, as the page's filters.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`conversations_table`.

    Returns
    -------
    facets : list of dict
        Only the facets the summaries carry: ``key``, ``label``, ``kind``
        (``"multi"``, ``"score"`` or ``"category"``), ``values``,
        ``counts`` and ``codes`` (one per conversation).
    """
    facets = []
    if "languages" in table.columns:
        values = [
            None
            if _missing(v)
            else sorted({str(x).strip().lower() for x in v if str(x).strip()})
            for v in table["languages"]
        ]
        if any(values):
            names, counts, codes = _coded(values, multi=True)
            facets.append(
                _facet("languages", "Language", "multi", names, counts, codes)
            )
    for key, label in [
        ("concerning_score", "Concerning score"),
        ("user_frustration", "User frustration"),
    ]:
        if key in table.columns:
            values = [_score(v) for v in table[key]]
            if any(v is not None for v in values):
                names, counts, codes = _coded(values, order=_SCORES)
                facets.append(_facet(key, label, "score", names, counts, codes))
    if "assistant_errors" in table.columns:
        values = [
            None if _missing(v) else ("with errors" if len(v) else "without errors")
            for v in table["assistant_errors"]
        ]
        if any(v is not None for v in values):
            names, counts, codes = _coded(
                values, order=["with errors", "without errors"]
            )
            facets.append(
                _facet(
                    "assistant_errors",
                    "Assistant errors",
                    "category",
                    names,
                    counts,
                    codes,
                )
            )
    return facets


def metadata_facets(chat_ids, conversations, *, exclude=()):
    """The conversations' low-cardinality metadata fields, as filters.

    Parameters
    ----------
    chat_ids : sequence of str
        The page's conversations, in order.
    conversations : sequence of Conversation
        Joined by chat_id; others are ignored.
    exclude : collection of str, default=()
        Fields never shown (the user id field).

    Returns
    -------
    facets : list of dict
        As :func:`summary_facets`, keys ``metadata.<field>``; fields whose
        values are all strings, booleans or integers, with 2 to
        :data:`MAX_METADATA_VALUES` distinct values.
    """
    by_id = {str(c.chat_id): c.metadata for c in conversations}
    rows = [by_id.get(str(chat_id)) or {} for chat_id in chat_ids]
    fields = sorted({key for row in rows for key in row} - set(exclude))
    facets = []
    for field in fields:
        values = [row.get(field) for row in rows]
        if not all(_missing(v) or isinstance(v, (str, bool, int)) for v in values):
            continue
        values = [None if _missing(v) or v == "" else str(v) for v in values]
        distinct = {v for v in values if v is not None}
        if not 2 <= len(distinct) <= MAX_METADATA_VALUES:
            continue
        names, counts, codes = _coded(values)
        facets.append(
            _facet(f"metadata.{field}", field, "category", names, counts, codes)
        )
    return facets


def _facet(key, label, kind, values, counts, codes):
    return {
        "key": key,
        "label": label,
        "kind": kind,
        "values": values,
        "counts": counts,
        "codes": codes,
    }


def time_data(table, conversations, tree):
    """Each conversation's day, and each cluster's counts per period.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`conversations_table`.
    conversations : sequence of Conversation or None
    tree : ClusterTree

    Returns
    -------
    data : dict or None
        None when no conversation carries ``created_at``. Else ``day``
        (days since 1970-01-01 UTC per conversation, None when unknown),
        ``first`` and ``last`` (ISO dates), and ``trends``: ``freq``,
        ``periods`` (each period's first day, as a day number), ``counts``
        (per cluster id, its conversations per period, from
        :func:`trends_table`; None for a cluster with none dated) and
        ``growth`` (the fastest growing clusters, from :func:`growth_table`).
    """
    import pandas as pd

    from ._trends import conversation_times, growth_table, trends_table

    if conversations is None:
        return None
    times = conversation_times(table["chat_id"], conversations)
    if times.isna().all():
        return None
    day = (times - pd.Timestamp("1970-01-01")).dt.days
    trends = trends_table(table, dict(zip(table["chat_id"].astype(str), times)))
    periods = np.sort(trends["period"].unique())
    start_days = (pd.DatetimeIndex(periods) - pd.Timestamp("1970-01-01")).days
    counts = [None] * len(tree)
    for cluster_id, rows in trends.groupby("cluster_id", sort=False):
        counts[int(cluster_id)] = (
            rows.sort_values("period")["count"].astype(int).tolist()
        )
    growth = growth_table(trends).head(GROWTH_ROWS)
    return {
        "day": [None if pd.isna(d) else int(d) for d in day],
        "first": times.min().date().isoformat(),
        "last": times.max().date().isoformat(),
        "trends": {
            "freq": trends.attrs["freq"],
            "periods": [int(d) for d in start_days],
            "counts": counts,
            "growth": [
                {
                    "cluster": int(row.cluster_id),
                    "recent_count": int(row.recent_count),
                    "recent_share": float(row.recent_share),
                    "earlier_share": float(row.earlier_share),
                    "growth": float(row.growth),
                }
                for row in growth.itertuples()
            ],
        },
    }
