import json

import polars as pl
import pytest

from curate.core.errors import InputError
from curate.core.text import stable_ids
from curate.io.readers import read_input
from curate.io.spec import InputSpec


def read(path, **mapping):
    return read_input(InputSpec(path=path, **mapping))


def test_csv_with_column_mapping(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('ticket_id,body,queue,extra\nT1,"Refund, please",billing,x\nT2,"line one\nline two",tech,y\n')
    result = read(path, text="body", label="queue", id="ticket_id").result
    assert result.kept.select("id", "text", "label", "extra").rows() == [
        ("T1", "Refund, please", "billing", "x"),
        ("T2", "line one\nline two", "tech", "y"),
    ]
    assert result.kept["source_line"].to_list() == [2, 4]


def test_jsonl_parquet_and_openai_chat(tmp_path):
    rows = [
        {"id": "a", "text": "where is my order", "label": "track"},
        {"id": "b", "text": "cancel it", "label": "cancel"},
    ]
    (tmp_path / "t.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    pl.DataFrame(rows).write_parquet(tmp_path / "t.parquet")
    for name in ("t.jsonl", "t.parquet"):
        kept = read(tmp_path / name).result.kept
        assert kept.select("id", "text", "label").rows() == [
            ("a", "where is my order", "track"),
            ("b", "cancel it", "cancel"),
        ]
    chat = [
        {
            "messages": [
                {"role": "system", "content": "be nice"},
                {"role": "user", "content": "my card was charged twice"},
                {"role": "assistant", "content": "Sorry! Refunding now."},
            ],
            "label": "billing",
        }
    ]
    (tmp_path / "c.jsonl").write_text(json.dumps(chat[0]) + "\n")
    kept = read(tmp_path / "c.jsonl").result.kept
    assert kept.row(0, named=True) | {"id": None} == kept.row(0, named=True) | {
        "id": None,
        "text": "my card was charged twice",
        "response": "Sorry! Refunding now.",
        "system": "be nice",
        "label": "billing",
    }
    assert read(tmp_path / "c.jsonl").fingerprint["format"] == "openai"


def test_missing_column_names_file_and_suggests(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("ticket_id,body\n1,hello\n")
    with pytest.raises(InputError) as caught:
        read(path, text="bodyy", id="ticket_id")
    assert caught.value.where == str(path)
    assert "text column 'bodyy' is missing" in caught.value.message
    assert "did you mean 'body'" in caught.value.hint and "ticket_id, body" in caught.value.hint


def test_malformed_csv_row_names_the_line(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,text,label\n1,fine,a\n2,too,many,fields\n3,ok,b\n")
    with pytest.raises(InputError) as caught:
        read(path)
    assert caught.value.where == f"{path}:3"
    assert "expected 3 fields, found 4" in caught.value.message
    # With on_bad_rows: reject the row is kept as a rejected row with its line, never lost.
    result = read(path, on_bad_rows="reject").result
    assert result.kept["id"].to_list() == ["1", "3"]
    assert result.rejected.select("reason", "detail").rows() == [
        ("malformed_row", "line 3: expected 3 fields, found 4")
    ]


def test_malformed_json_line(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"id": "1", "text": "a"}\n{"id": "2", "text": \n{"id": "3", "text": "c"}\n')
    with pytest.raises(InputError) as caught:
        read(path)
    assert caught.value.where == f"{path}:2" and "malformed JSON" in caught.value.message
    result = read(path, on_bad_rows="reject").result
    assert result.kept["id"].to_list() == ["1", "3"] and result.rejected["source_line"].to_list() == [2]


def test_wrong_encoding_names_the_line_and_the_fix(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("id,text\n1,fine\n2,caf\u00e9 au lait\n".encode("cp1252"))
    with pytest.raises(InputError) as caught:
        read(path)
    assert caught.value.where == f"{path}:3" and "not valid utf-8" in caught.value.message
    assert "encoding: cp1252" in caught.value.hint
    assert read(path, encoding="cp1252").result.kept["text"].to_list() == ["fine", "caf\u00e9 au lait"]


@pytest.mark.parametrize(
    "content, message", [("", "the file is empty"), ("id,text\n", "header but no rows"), ("  \n", "the file is empty")]
)
def test_empty_files(tmp_path, content, message):
    path = tmp_path / "t.csv"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        read(path)


def test_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(InputError, match="input file not found"):
        read(tmp_path / "nope.csv")
    (tmp_path / "t.xlsx").write_text("x")
    with pytest.raises(InputError, match="cannot tell the format"):
        read(tmp_path / "t.xlsx")


def test_duplicate_ids_are_an_error(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,text\n7,a\n7,b\n8,c\n")
    with pytest.raises(InputError, match=r"id '7' is used by more than one row \(lines 2, 3\)"):
        read(path)


def test_empty_texts_are_rejected_not_dropped(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('id,text\n1,hello\n2,\n3,"   "\n')
    result = read(path).result
    assert result.kept["id"].to_list() == ["1"]
    assert result.rejected.select("id", "stage", "reason").rows() == [
        ("2", "ingest", "empty_text"),
        ("3", "ingest", "empty_text"),
    ]


def test_stable_ids_survive_reordering():
    first = stable_ids(pl.Series(["a", "b", "a"]))
    second = stable_ids(pl.Series(["b", "a", "a"]))
    assert first[0] == second[1] and first[1] == second[0]
    assert first[2] == first[0] + "-1" and first.n_unique() == 3


def test_sample_is_read_whole(sample_path, truth):
    ingested = read(sample_path, text="body", label="intent", id="ticket_id", response="response")
    result = ingested.result
    assert result.kept.height + result.rejected.height == truth.height == ingested.fingerprint["rows"]
    # Every ingest rejection is a planted empty ticket.
    empties = set(truth.filter(pl.col("kind") == "empty")["ticket_id"])
    assert set(result.rejected["id"]) <= empties


def test_an_unclosed_quote_costs_one_row_not_the_rest_of_the_file(tmp_path):
    """Found by the trust review: line 3's stray quote swallowed 198 rows into one rejected row."""
    from curate.io.readers import read_input
    from curate.io.spec import InputSpec

    lines = ["id,text,label"] + [f"{i},ticket number {i} about my order,track" for i in range(1, 201)]
    lines[2] = '2,"this quote never closes,track'
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n")
    result = read_input(InputSpec(path=path, on_bad_rows="reject")).result
    assert result.rejected["source_line"].to_list() == [3] and result.kept.height == 199
    assert result.kept.height + result.rejected.height == 200
    assert result.kept.filter(pl.col("id") == "4")["source_line"].to_list() == [5]
    with pytest.raises(InputError) as caught:
        read_input(InputSpec(path=path))
    assert caught.value.where == f"{path}:3"


def _read_in_batches(spec, batch_rows):
    """Every batch of a batched read, as one result, and the reader's stats."""
    from curate.io.readers import InputReader

    reader = InputReader(spec, batch_rows)
    parts = list(reader.batches())
    return (
        pl.concat([p.kept for p in parts], how="diagonal_relaxed"),
        pl.concat([p.rejected for p in parts], how="diagonal_relaxed"),
        reader.stats,
        len(parts),
    )


@pytest.mark.parametrize("name", ["messy.csv", "mac.csv", "messy.jsonl", "chat.jsonl", "messy.parquet"])
def test_a_file_read_in_batches_is_the_file_read_at_once(tmp_path, name):
    """What a streamed run reads, 3 rows at a time: the same rows, ids, lines, rejections and stats as reading the whole
    file, although repeated texts, a quoted record over two lines and a stray quote fall across batch boundaries."""
    texts = [
        "where is my refund",
        "cancel my order",
        "where is my refund",
        "",
        "my card\nwas charged twice",
        "cancel my order",
        "change my address",
        "where is my refund",
        "hello",
        "cancel my order",
        "bye",
    ]
    labels = ["refund", "cancel", "refund", "x", "billing", "cancel", "address", "refund", "other", None, "other"]
    path = tmp_path / name
    if name.endswith(".csv"):
        lines = ["text,label,extra"] + [
            '"' + t + '",' + (lbl or "") + f",{i}" for i, (t, lbl) in enumerate(zip(texts, labels))
        ]
        lines.insert(5, '"this quote never closes,track,0')  # recovered line by line under `reject`
        lines.insert(8, "too,many,fields,here")
        path.write_bytes(("\r" if name == "mac.csv" else "\n").join(lines).encode() + b"\n")
    elif name == "chat.jsonl":
        path.write_text(
            "\n".join(
                json.dumps(
                    {"messages": [{"role": "user", "content": t}, {"role": "assistant", "content": "ok"}], "label": lbl}
                )
                for t, lbl in zip(texts, labels)
            )
            + "\n\nnot json\n"
        )
    elif name.endswith(".jsonl"):
        path.write_text(
            "\n".join(json.dumps({"text": t, "label": lbl, "n": i}) for i, (t, lbl) in enumerate(zip(texts, labels)))
            + "\n\n{broken\n"
            + json.dumps({"text": "last one", "label": "other", "n": 99})
            + "\n"
        )
    else:
        pl.DataFrame({"text": texts, "label": labels}).write_parquet(path)
    spec = InputSpec(path=path, on_bad_rows="reject")
    whole = read_input(spec)
    kept, rejected, stats, parts = _read_in_batches(spec, 3)
    assert parts > 3  # it was read in batches
    assert kept.equals(whole.result.kept) and kept.height >= 8
    assert rejected.equals(whole.result.rejected) and rejected.height >= 1
    assert stats["fingerprint"] == whole.fingerprint and stats["rows_read"] == whole.result.stats["rows_read"]
    repeated = kept.filter(pl.col("text") == "cancel my order")["id"].to_list()
    assert len(repeated) == 3 and repeated[1] == repeated[0] + "-1" and repeated[2] == repeated[0] + "-2"


def test_an_id_repeated_in_another_batch_is_still_refused(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,text\n" + "".join(f"{i},ticket {i}\n" for i in range(10)) + "3,ticket again\n")
    from curate.io.readers import InputReader

    with pytest.raises(InputError) as caught:
        list(InputReader(InputSpec(path=path), 4).batches())
    assert "id '3' is used by more than one row (lines 5, 12)" in caught.value.message


def test_a_column_whose_type_changes_between_batches_is_named(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps({"text": f"ticket {i}", "n": i if i < 4 else f"x{i}"}) + "\n" for i in range(8)))
    from curate.io.readers import InputReader

    assert read_input(InputSpec(path=path)).result.kept["n"].dtype == pl.String  # at once: polars settles on text
    with pytest.raises(InputError) as caught:
        list(InputReader(InputSpec(path=path), 4).batches())
    assert "column 'n'" in caught.value.message and "from line 5" in caught.value.message


WORDS = "refund invoice parcel password address delivery warranty coupon battery screen charger laptop printer".split()


def test_columns_named_like_curates_are_renamed_not_read_as_curates(tmp_path):
    """A published `split` (Twitter and Ubuntu support chats have one) and a `review_keep` stay the file's values under
    `input_<name>`; the run's split stage writes its own `split`, and nothing is restored by the file's `review_keep`."""
    from curate.core.context import RunContext
    from curate.pipeline.executor import run_stages
    from curate.stages.balance.split import Split

    path = tmp_path / "t.csv"
    pl.DataFrame(
        {
            "text": [f"{word} {other} please" for word in WORDS[:8] for other in WORDS[8:13]],
            "label": ["a", "b"] * 20,
            "split": ["test"] * 40,
            "review_keep": ["true"] * 40,
            "input_split": ["mine"] * 40,
        }
    ).write_csv(path)
    ingested = read_input(InputSpec(path=path))
    kept = ingested.result.kept
    assert ingested.result.stats["renamed_columns"] == {
        "review_keep": "input_review_keep",
        "split": "input_input_split",
    }
    assert "review_keep" not in kept.columns
    assert kept["input_input_split"].to_list() == ["test"] * 40
    assert kept["input_split"].to_list() == ["mine"] * 40
    approved = run_stages([Split(validation=0.25, test=0.25, seed=1)], RunContext(seed=1), rows=kept).approved
    assert set(approved["split"].to_list()) == {"train", "validation", "test"}
    assert approved["input_input_split"].to_list() == ["test"] * 40


def test_a_run_says_which_input_columns_it_renamed(tmp_path):
    import yaml

    from curate.pipeline.runner import run_recipe
    from curate.recipe import load_recipe

    path = tmp_path / "t.csv"
    pl.DataFrame(
        {"text": ["hello there", "please help me"], "label": ["a", "b"], "split": ["train", "test"]}
    ).write_csv(path)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        yaml.safe_dump({"input": {"path": str(path)}, "stages": ["clean"], "output": str(tmp_path / "run")})
    )
    run_recipe(load_recipe(recipe))
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["input"]["renamed_columns"] == {"split": "input_split"}
    assert "`split` → `input_split`" in (tmp_path / "run" / "report.md").read_text()
