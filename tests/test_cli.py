"""The kura-sklearn command line, end to end on the bundled sample, offline."""

import json
import shutil
import subprocess
import sys
from importlib.resources import files

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal

from kura_sklearn import load_sample_conversations
from kura_sklearn.cli import main
from kura_sklearn.persistence import load

SAMPLE = str(files("kura_sklearn.datasets") / "data" / "sample_conversations.jsonl")
N_SAMPLE = 300


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    assert main(["run", SAMPLE, "--out", str(out), "-q"]) == 0
    return out


def test_run_writes_every_output(run_dir):
    names = sorted(p.name for p in run_dir.iterdir())
    assert names == [
        "cache",
        "clusters.parquet",
        "conversations.parquet",
        "pipeline.joblib",
        "report.html",
        "run.json",
        "trends.parquet",  # the sample's conversations carry created_at
    ]
    record = json.loads((run_dir / "run.json").read_text())
    assert record["n_conversations"] == N_SAMPLE
    assert record["trends"] == {"file": "trends.parquet", "period": "month"}
    assert record["settings"]["model"] is None  # offline default


def test_run_conversations_table(run_dir):
    table = pd.read_parquet(run_dir / "conversations.parquet")
    clusters = pd.read_parquet(run_dir / "clusters.parquet").set_index("id")
    sample_ids = [c.chat_id for c in load_sample_conversations()]
    # one row per conversation, in input order
    assert table["chat_id"].tolist() == sample_ids
    levels = sorted(
        int(c[len("level_") : -len("_id")])
        for c in table
        if c.startswith("level_") and c.endswith("_id")
    )
    top = int(clusters["level"].max())
    assert levels == list(range(1, top + 1))
    expected = {
        "chat_id",
        "summary",
        "request",
        "languages",
        "concerning_score",
        "cluster_id",
        "cluster_name",
        "x",
        "y",
    }
    assert expected <= set(table.columns)
    assert table["summary"].str.len().gt(0).all()
    assert np.isfinite(table[["x", "y"]].to_numpy()).all()
    # each conversation's time, next to its id
    assert list(table.columns[:2]) == ["chat_id", "created_at"]
    times = [c.created_at for c in load_sample_conversations()]
    assert table["created_at"].tolist() == [pd.Timestamp(t) for t in times]
    # every ancestor column agrees with the tree in clusters.parquet
    for row in table.itertuples(index=False):
        base = row.cluster_id
        assert clusters.loc[base, "level"] == 0
        assert row.cluster_name == clusters.loc[base, "name"]
        assert row.chat_id in set(clusters.loc[base, "member_ids"])
        chain, node = {}, base
        while not pd.isna(clusters.loc[node, "parent_id"]):
            node = int(clusters.loc[node, "parent_id"])
            chain[int(clusters.loc[node, "level"])] = node
        for level in range(1, top + 1):
            value = getattr(row, f"level_{level}_id")
            if level in chain:
                assert value == chain[level]
                assert (
                    getattr(row, f"level_{level}_name")
                    == clusters.loc[chain[level], "name"]
                )
            else:
                assert pd.isna(value)


def test_run_clusters_table_is_a_tree(run_dir):
    clusters = pd.read_parquet(run_dir / "clusters.parquet")
    record = json.loads((run_dir / "run.json").read_text())
    by_id = clusters.set_index("id")
    assert clusters["id"].tolist() == list(range(len(clusters)))
    base = clusters[clusters["level"] == 0]
    assert len(base) == record["n_clusters"]
    assert base["count"].sum() == N_SAMPLE  # K-means leaves no noise
    roots = clusters[clusters["parent_id"].isna()]
    assert 1 <= len(roots) <= 10  # --max-clusters default
    assert roots["share"].sum() == pytest.approx(1.0)
    all_members = set().union(*(set(m) for m in roots["member_ids"]))
    assert len(all_members) == N_SAMPLE
    for row in clusters.itertuples(index=False):
        assert row.count == len(row.member_ids)
        children = list(row.children)
        if row.level == 0:
            assert children == []
            continue
        # a parent holds exactly its children's members, one level up
        assert sum(by_id.loc[c, "count"] for c in children) == row.count
        assert all(by_id.loc[c, "parent_id"] == row.id for c in children)
        assert all(by_id.loc[c, "level"] < row.level for c in children)
    assert clusters["name"].str.len().gt(0).all()


def test_run_pipeline_file_predicts(run_dir):
    pipe = load(run_dir / "pipeline.joblib")
    table = pd.read_parquet(run_dir / "conversations.parquet")
    labels = pipe.predict(load_sample_conversations()[:20])
    # the training conversations land in their own clusters again
    assert (labels == table["cluster_id"].to_numpy()[:20]).mean() >= 0.9


def test_report_is_written(run_dir):
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert 'id="report-data"' in html
    assert "<script src=" not in html  # self-contained


def test_show_prints_the_tree(run_dir, capsys):
    assert main(["show", str(run_dir)]) == 0
    out = capsys.readouterr().out
    clusters = pd.read_parquet(run_dir / "clusters.parquet")
    assert out.startswith(f"{N_SAMPLE} conversations in ")
    for name in clusters.loc[clusters["parent_id"].isna(), "name"]:
        assert name[:30] in out  # long names are cut to the terminal's width
    # every cluster is one line (names are short enough not to wrap)
    assert len(out.strip().splitlines()) >= len(clusters) + 1  # long names wrap
    assert main(["show", str(run_dir), "--max-depth", "0"]) == 0
    shallow = capsys.readouterr().out
    assert len(shallow.strip().splitlines()) >= clusters["parent_id"].isna().sum() + 1


ESCAPES = "\x1b[2J\x1b[1;31mowned\x1b]0;title\x07\u202e\r"


def test_show_prints_control_characters_as_escapes(tmp_path, capsys):
    # issue 12, item 7: names and descriptions drawn from conversations
    # reached the terminal raw (clear screen, colours, window title)
    table = pd.DataFrame(
        {
            "id": [0, 1, 2],
            "name": [f"Root {ESCAPES}", f"Child {ESCAPES}", "Other\nforged line"],
            "description": [f"About {ESCAPES}", f"Says {ESCAPES}", "plain"],
            "parent_id": pd.array([pd.NA, 0, 0], dtype="Int64"),
            "level": [1, 0, 0],
            "count": [3, 2, 1],
        }
    )
    path = tmp_path / "clusters.parquet"
    table.to_parquet(path, index=False)
    assert main(["show", str(path), "--descriptions"]) == 0
    out = capsys.readouterr().out
    for raw in ("\x1b", "\x07", "\u202e", "\r"):
        assert raw not in out
    assert "\\x1b[2J\\x1b[1;31mowned" in out  # shown, as text
    assert "\\u202e" in out
    assert "Other forged line" in out  # a newline cannot forge a tree line


def test_predict_on_stdout_prints_control_characters_as_escapes(
    run_dir, tmp_path, capsys
):
    new = tmp_path / "new.jsonl"
    records = [json.loads(x) for x in open(SAMPLE, encoding="utf-8").readlines()[:3]]
    for record in records:
        record["messages"][0]["content"] = ESCAPES + record["messages"][0]["content"]
    new.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    assert main(["predict", str(run_dir), str(new), "-q"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out
    assert "\\x1b[2J" in out


def test_predict_writes_assignments(run_dir, tmp_path, capsys):
    new = tmp_path / "new.jsonl"
    sample = open(SAMPLE, encoding="utf-8").read().splitlines()[:12]
    new.write_text("\n".join(sample) + "\n", encoding="utf-8")
    out = tmp_path / "assigned.parquet"
    assert main(["predict", str(run_dir), str(new), "--out", str(out)]) == 0
    table = pd.read_parquet(out)
    assert len(table) == 12
    assert {"chat_id", "summary", "cluster_id", "cluster_name", "level_1_id"} <= set(
        table.columns
    )
    pipe = load(run_dir / "pipeline.joblib")
    expected = pipe.predict(load_sample_conversations()[:12])
    np.testing.assert_array_equal(table["cluster_id"].to_numpy(), expected)
    capsys.readouterr()
    # CSV on standard output by default
    assert main(["predict", str(run_dir / "pipeline.joblib"), str(new)]) == 0
    csv = capsys.readouterr().out.splitlines()
    assert csv[0].startswith("chat_id,summary,created_at,cluster_id,cluster_name")
    assert len(csv) >= 13
    # predictions keep their times: a fitted tree is tracked over new weeks
    times = [c.created_at for c in load_sample_conversations()[:12]]
    assert table["created_at"].tolist() == [pd.Timestamp(t) for t in times]


def test_run_trends_table_counts_every_conversation_per_month(run_dir):
    trends = pd.read_parquet(run_dir / "trends.parquet")
    clusters = pd.read_parquet(run_dir / "clusters.parquet")
    assert list(trends.columns) == [
        "level",
        "cluster_id",
        "period",
        "count",
        "share",
        "period_total",
    ]
    # the sample spans 2025: twelve months for every cluster at every level
    assert trends["period"].nunique() == 12
    assert len(trends) == 12 * len(clusters)
    per_level = trends.groupby("level")["count"].sum()
    assert (per_level == N_SAMPLE).all()
    counts = trends.groupby("cluster_id")["count"].sum()
    np.testing.assert_array_equal(
        counts.loc[clusters["id"]].to_numpy(), clusters["count"].to_numpy()
    )


def test_undated_conversations_write_no_trends(tmp_path):
    source = tmp_path / "undated.jsonl"
    lines = open(SAMPLE, encoding="utf-8").read().splitlines()[:40]
    rows = [json.loads(line) for line in lines]
    for row in rows:
        row.pop("created_at")
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "out"
    assert main(["run", str(source), "--out", str(out), "-q"]) == 0
    assert not (out / "trends.parquet").exists()
    assert json.loads((out / "run.json").read_text())["trends"] is None
    assert "created_at" not in pd.read_parquet(out / "conversations.parquet")


FAR_AWAY = {
    "chat_id": "far-away",
    "messages": [
        {"role": "user", "content": "When do zebras migrate across the Serengeti?"},
        {"role": "assistant", "content": "Mostly between July and October."},
    ],
}


def test_predict_reports_each_conversations_status(run_dir, tmp_path, capsys):
    # issue 15, item 6: every row says whether it was assigned or is an
    # outlier (cluster_id -1), with its distance and the cluster's threshold
    new = tmp_path / "new.jsonl"
    sample = open(SAMPLE, encoding="utf-8").read().splitlines()[:5]
    new.write_text("\n".join([*sample, json.dumps(FAR_AWAY)]) + "\n", "utf-8")
    out = tmp_path / "assigned.csv"
    assert main(["predict", str(run_dir), str(new), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert list(table.columns[:8]) == [
        "chat_id",
        "summary",
        "created_at",
        "cluster_id",
        "cluster_name",
        "status",
        "distance",
        "threshold",
    ]
    assert table["status"].iloc[:5].tolist() == ["assigned"] * 5
    outlier = (table["status"] == "outlier").to_numpy()
    assert_array_equal(outlier, table["distance"] > table["threshold"])
    assert_array_equal(outlier, table["cluster_id"] == -1)
    n_outliers = int(outlier.sum())
    assert f"Assigned {6 - n_outliers} conversations" in capsys.readouterr().out

    # a tighter threshold, learned at `run`, makes the zebras an outlier: no
    # cluster, no name; the run reuses the first one's cached embeddings
    tight = tmp_path / "tight"
    argv = ["run", SAMPLE, "--out", str(tight), "-q", "--outlier-quantile", "0.5"]
    assert main([*argv, "--cache-dir", str(run_dir / "cache")]) == 0
    assert main(["predict", str(tight), str(new), "--out", str(out)]) == 0
    assert "(cluster_id -1); wrote" in capsys.readouterr().out
    row = pd.read_csv(out).set_index("chat_id").loc["far-away"]
    assert row["status"] == "outlier" and row["cluster_id"] == -1
    assert pd.isna(row["cluster_name"]) and row["distance"] > row["threshold"]


@pytest.mark.parametrize("value", ["0", "1.5", "high"])
def test_run_refuses_a_bad_outlier_quantile(value, tmp_path, capsys):
    argv = ["run", SAMPLE, "--out", str(tmp_path / "o"), "--outlier-quantile", value]
    assert main(argv) == 2
    assert "outlier_quantile must be a number in (0, 1] or 'none'" in (
        capsys.readouterr().err
    )


def test_run_reads_a_config_file(tmp_path):
    config = tmp_path / "kura.toml"
    config.write_text('max-clusters = 3\nclusters_per_group = 25\ntitle = "Ours"\n')
    out = tmp_path / "out"
    # the command line overrides the file
    argv = [
        "run",
        SAMPLE,
        "--out",
        str(out),
        "--config",
        str(config),
        "--max-clusters",
        "4",
        "-q",
    ]
    assert main(argv) == 0
    record = json.loads((out / "run.json").read_text())
    assert record["settings"]["max_clusters"] == 4
    assert record["settings"]["clusters_per_group"] == 25
    assert record["n_clusters"] == 12  # ceil(300 / 25)
    clusters = pd.read_parquet(out / "clusters.parquet")
    assert clusters["parent_id"].isna().sum() <= 4
    assert "<title>Ours</title>" in (out / "report.html").read_text()


@pytest.mark.parametrize(
    "config, message",
    [
        ("max_clusterz = 3\n", "unknown setting 'max_clusterz'"),
        ("max_clusters = \n", "not valid TOML"),
        ('clusterer = "dbscan"\n', "clusterer must be one of"),
    ],
)
def test_run_rejects_a_bad_config(tmp_path, capsys, config, message):
    path = tmp_path / "bad.toml"
    path.write_text(config)
    code = main(["run", SAMPLE, "--out", str(tmp_path / "o"), "--config", str(path)])
    assert code == 2
    assert message in capsys.readouterr().err


def test_bad_input_names_file_line_and_field(tmp_path, capsys):
    path = tmp_path / "broken.jsonl"
    good = open(SAMPLE, encoding="utf-8").read().splitlines()[:2]
    bad = json.loads(good[1])
    bad["chat_id"] = "chat-broken"
    bad["messages"][0]["role"] = "wizard"
    path.write_text(
        "\n".join([good[0], good[1].replace("0002", "0009"), json.dumps(bad)]) + "\n"
    )
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "-q"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("kura-sklearn: error: ")
    assert str(path) in err
    assert "line 3" in err
    assert "messages[0].role" in err
    assert "chat-broken" in err
    assert not out.exists()  # nothing half-written


def test_validate_rejects_a_lone_surrogate(tmp_path, capsys):
    # issue 12, item 4: validate said "all valid", then run crashed in pyarrow
    path = tmp_path / "cut.jsonl"
    good = open(SAMPLE, encoding="utf-8").read().splitlines()[:2]
    cut = {
        "chat_id": "cut-emoji",
        "messages": [{"role": "user", "content": "cut \ud83d emoji"}],
    }
    path.write_text("\n".join([*good, json.dumps(cut)]) + "\n")
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert "line 3" in err and "cut-emoji" in err
    assert "messages[0].content" in err and "lone surrogate" in err


def test_csv_error_names_the_path_once(tmp_path, capsys):
    # issue 12, item 12: "PATH: PATH: DataFrame has no column ..."
    path = tmp_path / "wrong.csv"
    path.write_text("id,who,text\n1,user,hello\n")
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert "no column 'chat_id'" in err
    assert err.count(str(path)) == 1


def test_predict_with_swapped_arguments_says_so(run_dir, tmp_path, capsys):
    # issue 12, item 12: "No such file" for the run directory given second
    assert main(["predict", SAMPLE, str(run_dir)]) == 1
    err = capsys.readouterr().err
    assert "not a fitted pipeline" in err and "predict RUN_DIR INPUT" in err
    assert "No such file" not in err
    assert main(["validate", str(run_dir)]) == 1
    assert "is a directory" in capsys.readouterr().err


def test_summary_line_counts_noise_and_says_one_conversation(tmp_path):
    # issue 12, item 12: HDBSCAN's noise was missing from the summary line,
    # and counts of one read "1 conversations"
    from kura_sklearn import ConversationClusterer, HDBSCANClusterer
    from kura_sklearn.cli import _summary_line
    from kura_sklearn.report import tree_text

    texts = (
        ["reset my password", "forgot my login password"] * 3
        + [
            "bake sourdough bread",
            "bread that will not rise",
        ]
        * 3
        + ["what is the capital of peru"]
    )
    model = ConversationClusterer(
        clusterer=HDBSCANClusterer(min_cluster_size=3), max_clusters=2, random_state=0
    ).fit(texts)
    n_noise = int((model.labels_ == -1).sum())
    assert n_noise >= 1
    line = _summary_line(model, len(texts), 1.0, tmp_path)
    assert f"into {model.n_clusters_} clusters, {n_noise} in no cluster" in line
    one = pd.DataFrame(
        {"id": [0], "name": ["Only"], "parent_id": [None], "count": [1], "level": [0]}
    )
    text = tree_text(one)
    assert text.startswith("1 conversation in 1 cluster\n")
    assert "1 conversation, 100.0%" in text and "conversations" not in text


def test_missing_input_and_model(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path)]) == 1
    assert "nope.jsonl: no such file" in capsys.readouterr().err
    code = main(["predict", str(tmp_path / "nothing"), SAMPLE])
    assert code == 1
    assert "no such file" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["run", SAMPLE])  # --out is required
    assert info.value.code == 2
    assert "--out" in capsys.readouterr().err


def test_console_script_is_installed(tmp_path):
    # the entry point pip installs, run as a shell user would
    exe = shutil.which("kura-sklearn")
    if exe is None:  # e.g. a venv whose bin is not on PATH
        command = [sys.executable, "-m", "kura_sklearn.cli"]
    else:
        command = [exe]
    done = subprocess.run(
        [*command, "validate", SAMPLE], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert f"{N_SAMPLE} conversations" in done.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"chat_id": "x", "messages": []}\n{not json\n')
    done = subprocess.run(
        [*command, "validate", str(bad)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert "line" in done.stderr and "Traceback" not in done.stderr


def test_llm_run_resumes_after_a_fault_and_leaks_no_key(fake_llm, tmp_path, capsys):
    # With --model the CLI talks to an OpenAI-compatible server. One
    # conversation always fails: the run exits 1 naming it, the other
    # summaries stay in the cache, and the same command then finishes with
    # only the failed one summarised again.
    from conftest import TEST_KEY

    lines = open(SAMPLE, encoding="utf-8").read().splitlines()[:40]
    broken = json.loads(lines[4])
    broken["messages"][0]["content"] += " PERMANENT-FAULT"
    lines[4] = json.dumps(broken)
    data = tmp_path / "chats.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    llm = [
        "--model",
        "fake-model",
        "--base-url",
        fake_llm.base_url,
        "--api-key-env",
        "KURA_SKLEARN_TEST_KEY",
        "--max-clusters",
        "3",
        "-q",
    ]
    out = tmp_path / "out"
    fake_llm.configure(permanent_fault_marker="PERMANENT-FAULT")
    stop = ["--on-error", "raise", "--max-retries", "1"]
    assert main(["run", str(data), "--out", str(out), *llm, *stop]) == 1
    err = capsys.readouterr().err
    assert broken["chat_id"] in err
    assert "run the same command again" in err

    fake_llm.configure(permanent_fault_marker=None)
    before = fake_llm.stats()["chat_completions"]
    assert main(["run", str(data), "--out", str(out), *llm]) == 0
    resumed = fake_llm.stats()["chat_completions"] - before

    before = fake_llm.stats()["chat_completions"]
    cold = tmp_path / "cold"
    assert main(["run", str(data), "--out", str(cold), "--no-cache", *llm]) == 0
    full = fake_llm.stats()["chat_completions"] - before
    assert resumed == full - 39  # 39 summaries came from the cache

    table = pd.read_parquet(out / "conversations.parquet")
    assert len(table) == 40 and table["task"].notna().all()  # LLM facets
    assert json.loads((out / "run.json").read_text())["n_llm_calls"]["naming"] > 0
    for path in out.rglob("*"):
        if path.is_file():
            assert TEST_KEY.encode() not in path.read_bytes(), path


def test_max_tokens_reaches_the_summarizer_and_the_namer(tmp_path):
    # --max-tokens (or max_tokens in a config file) caps every LLM answer.
    from kura_sklearn.cli import _settings, build_parser, build_pipeline

    args = build_parser().parse_args(
        [
            "run",
            "in.jsonl",
            "--out",
            str(tmp_path),
            "--model",
            "m",
            "--max-tokens",
            "256",
        ]
    )
    settings = _settings(args)
    assert settings["max_tokens"] == 256
    params = build_pipeline(settings).get_params()
    assert params["summarize__llm__max_tokens"] == 256
    assert params["cluster__namer__llm__max_tokens"] == 256
    offline = build_pipeline(
        _settings(
            build_parser().parse_args(["run", "in.jsonl", "--out", str(tmp_path)])
        )
    ).get_params()
    assert offline["summarize__llm__max_tokens"] is None


@pytest.mark.parametrize(
    "name, cls",
    [
        ("kmeans", "KMeansClusterer"),
        ("tree", "KMeansTreeClusterer"),
        ("minibatch", "MiniBatchKMeansClusterer"),
        ("hdbscan", "HDBSCANClusterer"),
    ],
)
def test_clusterer_choice(tmp_path, name, cls):
    # --clusterer tree is the large-input choice (near-linear in n).
    from kura_sklearn.cli import _settings, build_parser, build_pipeline

    args = build_parser().parse_args(
        ["run", "in.jsonl", "--out", str(tmp_path), "--clusterer", name]
    )
    clusterer = build_pipeline(_settings(args)).get_params()["cluster__clusterer"]
    assert type(clusterer).__name__ == cls


def test_run_flags_non_english_input(run_dir):
    # A quarter of the sample is not in English and the default embedder is
    # English-only: run.json and the report say so.
    languages = json.loads((run_dir / "run.json").read_text())["languages"]
    assert languages["non_english_share"] == pytest.approx(79 / 300, abs=0.02)
    assert languages["threshold"] == 0.2 and languages["english_only_embedder"]
    assert "not in English" in languages["warning"]
    assert '<p class="notice" role="note">' in (run_dir / "report.html").read_text()


def test_run_skip_invalid_with_csv_column_flags(tmp_path, capsys):
    # issue 12, item 13: one bad record stopped a whole run; now
    # --skip-invalid leaves it out, lists it, counts it; and CSV columns
    # with other names are mapped from the command line
    rows = []
    for conversation in load_sample_conversations()[:40]:
        for message in conversation.messages:
            rows.append(
                {
                    "conv": conversation.chat_id,
                    "who": message.role,
                    "text": message.content,
                }
            )
    rows[3]["who"] = "wizard"  # a bad role in one conversation
    rows.append(
        {"conv": "", "who": "user", "text": "no id"}
    )  # a row of no conversation
    path = tmp_path / "chats.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    columns = ["--chat-id-column", "conv", "--role-column", "who"]
    columns += ["--content-column", "text"]
    out = tmp_path / "out"

    assert main(["validate", str(path), *columns]) == 1  # the first error only
    assert main(["run", str(path), "--out", str(out), "-q", *columns]) == 1
    assert "missing chat_id" in capsys.readouterr().err
    argv = ["run", str(path), "--out", str(out), "-q", "--max-clusters", "3"]
    assert main([*argv, *columns, "--skip-invalid"]) == 0
    capsys.readouterr()
    skipped = [json.loads(x) for x in (out / "skipped.jsonl").read_text().splitlines()]
    first = rows[3]["conv"]
    assert [(s["chat_id"], s["field"]) for s in skipped] == [
        (first, "who"),
        (None, "conv"),
    ]
    lines = path.read_bytes().decode().split("\n")  # physical lines
    assert lines[skipped[0]["line"] - 1].startswith(f"{first},wizard,")
    assert "unknown role 'wizard'" in skipped[0]["reason"]
    assert lines[skipped[1]["line"] - 1] == ",user,no id"
    record = json.loads((out / "run.json").read_text())
    assert record["n_skipped_invalid"] == 2
    assert record["n_conversations"] == 39
    assert record["settings"]["chat_id_column"] == "conv"
    table = pd.read_parquet(out / "conversations.parquet")
    assert first not in set(table["chat_id"]) and len(table) == 39

    # validate --skip-invalid lists every invalid record
    assert main(["validate", str(path), *columns, "--skip-invalid"]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("invalid: ") == 2
    assert "39 conversations" in captured.out and "2 invalid records" in captured.out


def test_llm_run_with_faults_records_every_fallback(fake_llm, tmp_path, capsys):
    # Issue 12, item 10: with the default policy (on_error="fallback") a run
    # with faults finishes, and says what fell back: run.json counts, per
    # stage, the items, requests, retries, failures, fallbacks and cache
    # hits; clusters.parquet has each cluster's name_source; conversations
    # have summary_source; run.json names the cache actually used.
    lines = open(SAMPLE, encoding="utf-8").read().splitlines()[:40]
    broken = json.loads(lines[4])
    broken["messages"][0]["content"] += " PERMANENT-FAULT"
    lines[4] = json.dumps(broken)
    data = tmp_path / "chats.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    fake_llm.configure(
        # one conversation's summary, and every naming call (only the naming
        # prompt has a <group> tag), fail after every retry
        permanent_fault_marker=["PERMANENT-FAULT", "<group>"],
        fault_rate=0.2,
        fault_kinds=("429", "500", "truncated_body", "malformed_json"),
        seed=4,
    )
    out = tmp_path / "out"
    argv = [
        "run",
        str(data),
        "--out",
        str(out),
        "--model",
        "fake-model",
        "--base-url",
        fake_llm.base_url,
        "--api-key-env",
        "KURA_SKLEARN_TEST_KEY",
        "--max-clusters",
        "3",
        "--max-retries",
        "4",
        "-q",
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "replaced offline" in printed and "run the same command again" in printed

    record = json.loads((out / "run.json").read_text())
    assert record["settings"]["cache_dir"] == str(out / "cache")  # not null
    assert record["settings"]["on_error"] == "fallback"
    usage = record["llm"]
    assert set(usage) >= {"summarize", "naming"}
    for stage in usage.values():
        assert set(stage) == {
            "items",
            "requests",
            "retries",
            "failures",
            "fallbacks",
            "cache_hits",
        }
    summarize = usage["summarize"]
    assert summarize["items"] == 40 and summarize["cache_hits"] == 0
    assert summarize["failures"] == summarize["fallbacks"] >= 1
    assert summarize["retries"] > 0
    assert summarize["requests"] == 40 + summarize["retries"]
    table = pd.read_parquet(out / "conversations.parquet")
    sources = table.set_index("chat_id")["summary_source"]
    assert sources[broken["chat_id"]] == "fallback"
    assert (sources == "fallback").sum() == summarize["fallbacks"]

    clusters = pd.read_parquet(out / "clusters.parquet")
    assert set(clusters["name_source"]) <= {"llm", "fallback"}
    base = clusters[clusters["level"] == 0]
    meta = clusters[clusters["level"] > 0]
    assert (base["name_source"] == "fallback").all()  # keyword names
    assert usage["naming"]["fallbacks"] == usage["naming"]["failures"] == len(base)
    if len(meta):
        assert (
            usage["hierarchy"]["fallbacks"] == (meta["name_source"] == "fallback").sum()
        )
    assert usage["naming"]["items"] == len(base)


def test_a_key_given_as_api_key_env_is_refused_and_not_shown(tmp_path, capsys):
    # Issue 12, item 8: the key pasted where its variable's name belongs.
    key = "sk-proj-Zq81kVYw0aTbL3mN5xPc"
    code = main(
        ["run", str(SAMPLE), "--out", str(tmp_path / "o"), "--api-key-env", key, "-q"]
    )
    err = capsys.readouterr().err
    assert code == 2 and "not the key itself" in err
    assert key not in err
    assert not (tmp_path / "o").exists()  # nothing written, run.json included


def test_run_json_never_shows_a_cache_url_password():
    # run.json names the cache used (issue 12, item 10), never its password.
    from kura_sklearn.cli import _shown_url

    assert (
        _shown_url("redis://:s3cret@127.0.0.1:6379/0")
        == "redis://:***@127.0.0.1:6379/0"
    )
    assert _shown_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert _shown_url("/data/out/cache") == "/data/out/cache"


def test_one_tree_per_text_column(tmp_path, capsys):
    # issue 15, item 5: several trees in one run, each with its own files
    source = tmp_path / "some.jsonl"
    lines = open(SAMPLE, encoding="utf-8").read().splitlines()[:60]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    argv = ["run", str(source), "--out", str(out), "--text-column", "summary,request"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert f"By request ({out / 'by_request'}/):" in printed
    assert printed.rstrip().endswith(f"; the tree by request in {out / 'by_request'}/")
    record = json.loads((out / "run.json").read_text())
    assert record["trees"] == {"summary": ".", "request": "by_request"}
    by_request = out / "by_request"
    assert {p.name for p in by_request.iterdir()} == {
        "clusters.parquet",
        "conversations.parquet",
        "pipeline.joblib",
        "report.html",
        "trends.parquet",
    }
    table = pd.read_parquet(by_request / "conversations.parquet")
    assert list(table.columns[:3]) == ["chat_id", "created_at", "request"]
    assert "summary" in table.columns
    main_table = pd.read_parquet(out / "conversations.parquet")
    assert list(main_table.columns[:3]) == ["chat_id", "created_at", "summary"]
    pipe = load(by_request / "pipeline.joblib")
    assert pipe[-1].text_column == "request"
    np.testing.assert_array_equal(
        pipe.predict(load_sample_conversations()[:60]), table["cluster_id"]
    )


@pytest.mark.parametrize("value", ["summary,summary", ","])
def test_bad_text_columns_exit_2(tmp_path, capsys, value):
    argv = ["run", SAMPLE, "--out", str(tmp_path / "o"), "--text-column", value]
    assert main(argv) == 2
    assert "--text-column" in capsys.readouterr().err


def test_audit_privacy_from_the_command_line(fake_llm, tmp_path, capsys):
    # issue 15, item 7c: Clio's auditor is one flag away on the LLM path
    lines = open(SAMPLE, encoding="utf-8").read().splitlines()[:30]
    data = tmp_path / "chats.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    argv = ["run", str(data), "--out", str(out), "--audit-privacy", "-q"]
    assert main(argv) == 2
    assert "--audit-privacy needs --model" in capsys.readouterr().err
    llm = ["--model", "fake-model", "--base-url", fake_llm.base_url]
    llm += ["--api-key-env", "KURA_SKLEARN_TEST_KEY", "--max-clusters", "3"]
    assert main([*argv, *llm]) == 0
    clusters = pd.read_parquet(out / "clusters.parquet")
    scores = clusters["privacy_score"]
    assert scores.notna().all() and scores.between(1, 5).all()
    record = json.loads((out / "run.json").read_text())
    assert record["settings"]["audit_privacy"] is True
    assert record["n_llm_calls"]["audit"] == len(clusters)
    pipe = load(out / "pipeline.joblib")
    assert pipe[-1].namer.audit_privacy is True
