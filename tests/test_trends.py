"""Clusters over time: trends_table, growth_table, choose_period."""

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from kura_sklearn import Conversation, Message
from kura_sklearn.report import choose_period, growth_table, trends_table


@pytest.mark.parametrize(
    "days, freq", [(0, "D"), (10, "D"), (31, "D"), (40, "W"), (182, "W"), (400, "M")]
)
def test_the_period_follows_the_span(days, freq):
    start = datetime(2025, 3, 1, tzinfo=timezone.utc)
    assert choose_period([start, start + timedelta(days=days), None]) == freq


def _assignments():
    # base clusters 0, 1, 2 (and one noise row) under parents 3 and 4
    return pd.DataFrame(
        {
            "chat_id": ["a", "b", "c", "d", "e", "f"],
            "cluster_id": [0, 0, 1, 2, -1, 2],
            "level_1_id": pd.array([3, 3, 3, 4, None, 4], dtype="Int64"),
        }
    )


def test_counts_every_level_with_empty_periods_filled():
    times = {
        "a": "2025-01-01T10:00:00Z",
        "b": "2025-01-03T00:00:00+02:00",  # 2025-01-02 22:00 UTC
        "c": "2025-01-03T12:00:00Z",
        "d": "2025-01-05T00:00:00Z",
        "e": "2025-01-05T01:00:00Z",
        "f": "2025-01-05T02:00:00Z",
    }
    table = trends_table(_assignments(), times, freq="day")
    assert table.attrs["freq"] == "day"
    # five days from the first to the last, for 3 base and 2 parent clusters
    assert len(table) == 5 * 5
    base = table[table["level"] == 0].pivot(
        index="cluster_id", columns="period", values="count"
    )
    assert base.to_numpy().tolist() == [
        [1, 1, 0, 0, 0],
        [0, 0, 1, 0, 0],
        [0, 0, 0, 0, 2],
    ]
    parents = table[table["level"] == 1].groupby("cluster_id")["count"].sum()
    assert parents.to_dict() == {3: 3, 4: 2}
    # noise counts in its period's total, never in a cluster
    last = table[table["period"] == pd.Timestamp("2025-01-05")]
    assert set(last["period_total"]) == {3}
    assert last.loc[last["cluster_id"] == 2, "share"].item() == pytest.approx(2 / 3)


def test_takes_conversations_and_leaves_out_undated_ones():
    conversations = [
        Conversation(
            chat_id=chat_id,
            created_at=None if chat_id == "c" else datetime(2025, 1, i + 1),
            messages=[Message(role="user", content="hi")],
        )
        for i, chat_id in enumerate("abcdef")
    ]
    table = trends_table(_assignments(), conversations)
    assert table.attrs["freq"] == "day"
    assert table.loc[table["level"] == 0, "count"].sum() == 4  # c undated, e noise
    assert table["period_total"].groupby(table["period"]).first().sum() == 5


def test_no_dated_conversation_gives_an_empty_table():
    table = trends_table(_assignments(), {})
    assert table.empty
    assert list(table.columns) == [
        "level",
        "cluster_id",
        "period",
        "count",
        "share",
        "period_total",
    ]
    assert growth_table(table).empty


def test_a_bad_time_names_its_conversation():
    with pytest.raises(ValueError, match="Conversation 'b': created_at 'soon'"):
        trends_table(_assignments(), {"a": "2025-01-01", "b": "soon"})


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="'chat_id' and 'cluster_id'"):
        trends_table(pd.DataFrame({"cluster_id": [0]}), {})
    with pytest.raises(ValueError, match="freq must be"):
        trends_table(_assignments(), {}, freq="year")
    with pytest.raises(ValueError, match="more than once"):
        trends_table(_assignments(), pd.Series(["2025-01-01"] * 2, index=["a", "a"]))


def test_growth_puts_the_cluster_that_appeared_late_first():
    rng = np.random.default_rng(0)
    rows, times = [], {}
    start = datetime(2025, 1, 1)
    for i in range(600):
        day = int(rng.integers(0, 365))
        # cluster 2 only in the last two months; 0 and 1 all year
        cluster = 2 if day >= 300 and i % 3 == 0 else int(i % 2)
        rows.append((f"c{i}", cluster))
        times[f"c{i}"] = start + timedelta(days=day)
    assignments = pd.DataFrame(rows, columns=["chat_id", "cluster_id"])
    trends = trends_table(assignments, times)
    assert trends.attrs["freq"] == "month"
    growth = growth_table(trends)
    assert growth["cluster_id"].iloc[0] == 2
    assert growth["growth"].iloc[0] > 5
    # the steady clusters lose share to it but stay near one
    steady = growth.set_index("cluster_id").loc[[0, 1], "growth"]
    assert ((steady > 0.5) & (steady < 1.0)).all()


def test_growth_leaves_out_clusters_with_too_few_recent_conversations():
    assignments = pd.DataFrame({"chat_id": list("abcd"), "cluster_id": [0, 0, 1, 0]})
    times = {"a": "2025-01-01", "b": "2025-01-02", "c": "2025-01-03", "d": "2025-01-03"}
    growth = growth_table(trends_table(assignments, times), recent=1, min_count=1)
    assert set(growth["cluster_id"]) == {0, 1}
    growth = growth_table(trends_table(assignments, times), recent=1, min_count=2)
    assert growth.empty


def test_a_fitted_tree_tracks_new_weeks(fitted_sample_pipeline):
    # training conversations and new ones, counted with one tree
    from kura_sklearn.report import assignments_table, conversations_table

    pipe, conversations = fitted_sample_pipeline
    new = conversations[:20]
    labels = pipe.predict(new)
    later = {
        c.chat_id: datetime(2026, 3, 1, tzinfo=timezone.utc) + timedelta(days=i)
        for i, c in enumerate(new)
    }
    table = assignments_table(pipe, labels, [c.chat_id for c in new])
    trends = trends_table(table, later)
    assert trends.attrs["freq"] == "day"
    base = trends[trends["level"] == 0]
    assert base["count"].sum() == int((labels >= 0).sum())
    assert (trends.groupby("level")["count"].sum() <= 20).all()
    training = trends_table(conversations_table(pipe), conversations)
    assert training.attrs["freq"] == "month"
    assert training.loc[training["level"] == 0, "count"].sum() == len(conversations)
