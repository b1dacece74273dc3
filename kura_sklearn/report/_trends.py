"""Clusters over time: conversations per cluster and period, and growth.

A fitted tree is tracked over new weeks by predicting the new conversations
and counting them here, beside the training ones.
"""

import numpy as np

#: The period of each length of the data's span: the coarsest period that
#: still gives enough points for a trend (at least about eight).
_PERIODS = (("D", 31), ("W", 7 * 26), ("M", None))
_FREQ_NAMES = {"D": "day", "W": "week", "M": "month"}
_FREQS = {"D": "D", "day": "D", "W": "W", "week": "W", "M": "M", "month": "M"}


def choose_period(timestamps):
    """The period that suits the span of ``timestamps``: day, week or month.

    Days for a span of at most 31 days, weeks up to 26 weeks, months beyond:
    each gives roughly 8 to 30 points per cluster, enough for a trend and few
    enough to read.

    Parameters
    ----------
    timestamps : array-like of datetime-like
        Missing values are ignored.

    Returns
    -------
    freq : {"D", "W", "M"}
        A pandas period alias.

    Examples
    --------
    >>> from kura_sklearn.report import choose_period
    >>> choose_period(["2025-01-01", "2025-01-20"])
    'D'
    >>> choose_period(["2025-01-01", "2025-12-31"])
    'M'
    """
    times = _utc(timestamps).dropna()
    if times.empty:
        return "D"
    days = (times.max() - times.min()).total_seconds() / 86400
    return next(f for f, limit in _PERIODS if limit is None or days <= limit)


def trends_table(assignments, created_at, *, freq=None):
    """Conversations per cluster (at every level) and period: a tidy table.

    Parameters
    ----------
    assignments : pandas.DataFrame
        A ``chat_id`` column and the clusters of each conversation:
        ``cluster_id`` and ``level_k_id`` columns, as
        :func:`conversations_table` (training) or :func:`assignments_table`
        (after ``predict``) give. Noise (``cluster_id`` -1) is not counted in
        any cluster but is in each period's total.
    created_at : mapping, pandas.Series or sequence of Conversation
        When each conversation happened, by ``chat_id``: a dict or a Series
        indexed by chat_id, or the conversations themselves (their
        ``created_at``). Conversations without a time are left out.
    freq : {"day", "week", "month"} or None, default=None
        The period; None picks one from the span (:func:`choose_period`).

    Returns
    -------
    table : pandas.DataFrame
        One row per cluster and period from the first period to the last
        (periods without conversations count 0): ``level`` (0 for base
        clusters), ``cluster_id``, ``period`` (its start, UTC, without time
        zone), ``count``, ``share`` (of the period's dated conversations) and
        ``period_total``. ``table.attrs["freq"]`` names the period.

    Examples
    --------
    >>> import pandas as pd
    >>> from kura_sklearn.report import trends_table
    >>> assignments = pd.DataFrame(
    ...     {"chat_id": ["a", "b", "c"], "cluster_id": [0, 0, 1]}
    ... )
    >>> times = {"a": "2025-01-01", "b": "2025-01-02", "c": "2025-01-02"}
    >>> trends_table(assignments, times)[["cluster_id", "period", "count"]]
       cluster_id     period  count
    0           0 2025-01-01      1
    1           0 2025-01-02      1
    2           1 2025-01-01      0
    3           1 2025-01-02      1
    """
    import pandas as pd

    if "chat_id" not in assignments.columns or "cluster_id" not in assignments:
        raise ValueError(
            "assignments needs 'chat_id' and 'cluster_id' columns, as "
            "conversations_table or assignments_table give; got "
            f"{list(assignments.columns)}"
        )
    if freq is not None and freq not in _FREQS:
        raise ValueError(f"freq must be 'day', 'week', 'month' or None, got {freq!r}")
    times = conversation_times(assignments["chat_id"], created_at)
    dated = times.notna().to_numpy()
    level_columns = {0: "cluster_id"}
    for column in assignments.columns:
        if column.startswith("level_") and column.endswith("_id"):
            level_columns[int(column[len("level_") : -len("_id")])] = column
    code = _FREQS[freq] if freq is not None else choose_period(times)
    columns = ["level", "cluster_id", "period", "count", "share", "period_total"]
    if not dated.any():
        table = pd.DataFrame({c: [] for c in columns})
        table.attrs["freq"] = _FREQ_NAMES[code]
        return table
    periods = times[dated].dt.to_period(code)
    span = pd.period_range(periods.min(), periods.max(), freq=code)
    position = pd.PeriodIndex(periods).asi8 - span[0].ordinal
    totals = np.bincount(position, minlength=len(span))
    frames = []
    for level, column in sorted(level_columns.items()):
        ids = pd.array(assignments[column])[dated]
        present = ~pd.isna(ids)
        ids = np.asarray(ids[present], dtype=np.int64)
        at = position[np.asarray(present)]
        keep = ids >= 0
        ids, at = ids[keep], at[keep]
        clusters = np.unique(ids)
        if not len(clusters):
            continue
        row = np.searchsorted(clusters, ids)
        counts = np.zeros((len(clusters), len(span)), dtype=np.int64)
        np.add.at(counts, (row, at), 1)
        frames.append(
            pd.DataFrame(
                {
                    "level": level,
                    "cluster_id": np.repeat(clusters, len(span)),
                    "period": np.tile(span.start_time.to_numpy(), len(clusters)),
                    "count": counts.ravel(),
                    "period_total": np.tile(totals, len(clusters)),
                }
            )
        )
    table = pd.concat(frames, ignore_index=True)
    table["share"] = table["count"] / np.maximum(table["period_total"], 1)
    table = table[columns]
    table.attrs["freq"] = _FREQ_NAMES[code]
    return table


def growth_table(trends, *, recent=None, min_count=2):
    """Each cluster's share of recent conversations against its share before.

    Parameters
    ----------
    trends : pandas.DataFrame
        The output of :func:`trends_table`.
    recent : int, default=None
        How many of the last periods count as recent; None takes the last
        third of the periods (at least one).
    min_count : int, default=2
        Clusters with fewer recent conversations are left out: one new
        conversation is not a trend.

    Returns
    -------
    table : pandas.DataFrame
        ``level``, ``cluster_id``, ``recent_count``, ``recent_share``,
        ``earlier_share`` and ``growth``, sorted by ``growth``, fastest
        growing first. ``growth`` is the ratio of the two shares, each
        smoothed by one conversation's share of its period range so that a
        cluster absent before grows by a finite factor; it is 1 for a
        cluster whose share did not change.
    """
    import pandas as pd

    columns = [
        "level",
        "cluster_id",
        "recent_count",
        "recent_share",
        "earlier_share",
        "growth",
    ]
    periods = np.sort(trends["period"].unique()) if len(trends) else []
    if len(periods) < 2:
        return pd.DataFrame({c: [] for c in columns})
    if recent is None:
        recent = max(1, len(periods) // 3)
    recent = int(min(max(recent, 1), len(periods) - 1))
    is_recent = trends["period"].isin(periods[-recent:]).to_numpy()
    count = trends["count"].to_numpy()
    total = trends["period_total"].to_numpy()
    frame = (
        pd.DataFrame(
            {
                "level": trends["level"].to_numpy(),
                "cluster_id": trends["cluster_id"].to_numpy(),
                "recent_count": np.where(is_recent, count, 0),
                "earlier_count": np.where(is_recent, 0, count),
                "rt": np.where(is_recent, total, 0),
                "et": np.where(is_recent, 0, total),
            }
        )
        .groupby(["level", "cluster_id"], sort=True)
        .sum()
        .reset_index()
    )
    recent_share = frame["recent_count"] / frame["rt"].clip(lower=1)
    earlier_share = frame["earlier_count"] / frame["et"].clip(lower=1)
    smooth_recent = 1 / frame["rt"].clip(lower=1)
    smooth_earlier = 1 / frame["et"].clip(lower=1)
    frame["recent_share"] = recent_share
    frame["earlier_share"] = earlier_share
    frame["growth"] = (recent_share + smooth_recent) / (earlier_share + smooth_earlier)
    frame = frame[frame["recent_count"] >= min_count]
    frame = frame.sort_values(
        ["growth", "recent_count", "cluster_id"],
        ascending=[False, False, True],
        kind="stable",
    )
    return frame[columns].reset_index(drop=True)


def conversation_times(chat_ids, created_at):
    """When each of ``chat_ids`` happened, in UTC.

    Parameters
    ----------
    chat_ids : sequence of str
        The conversations wanted, in the order wanted.
    created_at : mapping, pandas.Series or sequence of Conversation
        As :func:`trends_table` takes it.

    Returns
    -------
    times : pandas.Series
        Indexed by chat_id: naive UTC timestamps, NaT where a conversation has
        no time or is not in ``created_at``.

    Examples
    --------
    >>> from kura_sklearn.report import conversation_times
    >>> conversation_times(["a", "b"], {"a": "2025-01-02T10:00:00+02:00"}).tolist()
    [Timestamp('2025-01-02 08:00:00'), NaT]
    """
    return _utc(_times_by_chat(created_at).reindex([str(c) for c in chat_ids]))


def _times_by_chat(created_at):
    """``created_at`` as a Series of timestamps indexed by chat_id."""
    import pandas as pd

    if isinstance(created_at, pd.Series):
        series = created_at
    elif isinstance(created_at, dict):
        series = pd.Series(created_at, dtype=object)
    else:
        rows = list(created_at)
        if rows and not all(hasattr(c, "chat_id") for c in rows):
            raise TypeError(
                "created_at must be a mapping or Series of chat_id to time, or "
                "a sequence of Conversation objects"
            )
        series = pd.Series(
            [c.created_at for c in rows],
            index=[str(c.chat_id) for c in rows],
            dtype=object,
        )
    series = series.copy()
    series.index = series.index.astype(str)
    if series.index.has_duplicates:
        duplicated = series.index[series.index.duplicated()][0]
        raise ValueError(f"created_at has chat_id {duplicated!r} more than once")
    return series


def _utc(values):
    """Timestamps as a naive UTC datetime Series (NaT where missing).

    A value that is not a time raises ValueError naming its chat_id.
    """
    import pandas as pd

    values = pd.Series(values) if not isinstance(values, pd.Series) else values
    try:
        values = pd.to_datetime(values, utc=True, errors="raise", format="mixed")
    except (ValueError, TypeError):
        parsed = pd.to_datetime(values, utc=True, errors="coerce", format="mixed")
        bad = values[parsed.isna() & values.notna()]
        raise ValueError(
            f"Conversation {bad.index[0]!r}: created_at {bad.iloc[0]!r} is not a "
            "date and time"
        ) from None
    return values.dt.tz_localize(None)
