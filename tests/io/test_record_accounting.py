"""Property tests (hypothesis): random CSV and JSONL files, written by the standard library with every
line ending, quote and separator inside the text, are read back record for record; a broken record is
rejected alone, with its line, and every other record is read."""

import csv
import io
import json
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curate.io.readers import read_input
from curate.io.spec import InputSpec

TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=40
)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def write_csv(path: Path, texts: list[str], line_end: str) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(
        buffer, lineterminator=line_end, quoting=csv.QUOTE_ALL
    )  # minimal quoting ignores \n when lines end in \r
    writer.writerow(["id", "text"])
    writer.writerows([[f"r{i}", t] for i, t in enumerate(texts)])
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")


@SETTINGS
@given(texts=st.lists(TEXT, min_size=1, max_size=30), line_end=st.sampled_from(["\n", "\r\n", "\r"]))
def test_every_csv_record_is_read_once_whatever_it_holds(tmp_path, texts, line_end):
    path = tmp_path / "t.csv"
    write_csv(path, texts, line_end)
    result = read_input(InputSpec(path=path, on_bad_rows="reject")).result
    kept = dict(result.kept.select("id", "text").iter_rows())
    assert result.kept.height + result.rejected.height == len(texts)
    for i, text in enumerate(texts):
        if f"r{i}" in kept:
            assert kept[f"r{i}"] == text
        else:  # only a text with nothing readable in it is rejected
            assert not text.strip()


@SETTINGS
@given(texts=st.lists(TEXT, min_size=2, max_size=30), broken=st.integers(min_value=0))
def test_a_broken_csv_record_is_rejected_alone_with_its_line(tmp_path, texts, broken):
    texts = [t.replace('"', "").replace("\r", " ").replace("\n", " ").replace(",", ";") or "x" for t in texts]
    texts = [t if t.strip() else "x" for t in texts]
    where = broken % len(texts)
    lines = ["id,text"] + [f"r{i},{t}" + (",extra" if i == where else "") for i, t in enumerate(texts)]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = read_input(InputSpec(path=path, on_bad_rows="reject")).result
    assert result.rejected.height == 1 and f"line {where + 2}" in result.rejected["detail"][0]
    assert result.kept.height == len(texts) - 1 and f"r{where}" not in set(result.kept["id"])


@SETTINGS
@given(texts=st.lists(TEXT, min_size=1, max_size=30), garbage=st.sets(st.integers(min_value=0, max_value=29)))
def test_every_jsonl_line_is_read_or_rejected_with_its_line(tmp_path, texts, garbage):
    lines = [("{not json" if i in garbage else json.dumps({"id": f"r{i}", "text": t})) for i, t in enumerate(texts)]
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad = {i for i in garbage if i < len(texts)}
    if len(bad) == len(texts):
        return  # nothing readable: a clear error, tested elsewhere
    result = read_input(InputSpec(path=path, on_bad_rows="reject")).result
    assert result.kept.height + result.rejected.height == len(texts)
    kept = dict(result.kept.select("id", "text").iter_rows())
    assert all(kept[f"r{i}"] == t for i, t in enumerate(texts) if i not in bad and f"r{i}" in kept)
    malformed = result.rejected.filter(pl.col("reason") != "empty_text")
    assert sorted(malformed["detail"].str.extract(r"line (\d+)").cast(pl.Int64).to_list()) == sorted(i + 1 for i in bad)
