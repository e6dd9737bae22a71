"""The CSV fast path (polars over blocks of regular records) reads what the csv module reads, line for line; from the
first block that is not regular the csv module carries on, naming the line."""

import polars as pl
import pytest

from curate.core.errors import InputError
from curate.io import readers
from curate.io.readers import _csv_batches, _csv_line_by_line, _mapped_utf8, _quick_block, _text_lines

ROWS = [
    'T1,"Refund, please",billing',
    'T2,"line one\nline two",tech',
    "",
    'T3,"she said ""hi""",',
    'T4,"crlf\r\ninside",tech',
    "T5,,billing",
    'T6,"",x',
    'T7,"three\n\nlines",tech',
    "T8,plain text,billing",
]


def both(path, batch_rows=None, on_bad_rows="error"):
    def read(parts):
        parts = list(parts)
        frame = pl.concat([frame for frame, _ in parts], how="diagonal_relaxed")
        # a quoted empty field: "" for polars, missing for the csv path (as before the fast path; both an empty text)
        frame = frame.with_columns(pl.when(pl.col(pl.String) != "").then(pl.col(pl.String)))
        return frame, [row for _, bad in parts for row in bad]

    fast = read(_csv_batches(path, "utf-8", on_bad_rows, batch_rows))
    slow = read(_csv_line_by_line(_text_lines(path, "utf-8"), path, on_bad_rows, batch_rows))
    return fast, slow


@pytest.mark.parametrize("end", ["\n", "\r\n"])
@pytest.mark.parametrize("block", [16, 64, 1 << 20])
@pytest.mark.parametrize("last_newline", [True, False])
def test_fast_path_reads_the_lines_the_csv_module_names(tmp_path, monkeypatch, end, block, last_newline):
    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", block)
    path = tmp_path / "t.csv"
    path.write_bytes((end.join(["id,text,label", *ROWS * 5]) + (end if last_newline else "")).encode())
    (fast, _), (slow, _) = both(path)
    assert fast.equals(slow)
    assert fast["_line"].to_list()[:8] == [2, 4, 6, 8, 9, 10, 13, 14]


@pytest.mark.parametrize("block", [16, 64, 1 << 20])
@pytest.mark.parametrize(
    "odd",
    [
        "T9,too,many,fields",  # polars would fail
        "T9,too few",  # polars would fill a null
        'T9,a stray " quote,x',  # the csv module keeps the quote
        'T9,"closed"then text,x',
        "T9,bare\rreturn,x",  # a line end for the csv module
        "T9, ",
        "T9,too,many,fields\nT10,few",  # as many delimiters as two full records
        "T9,,\n\nT10,,",  # a blank line between records whose last field is empty
    ],
)
def test_a_record_polars_would_read_otherwise_is_read_line_by_line(tmp_path, monkeypatch, block, odd):
    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", block)
    path = tmp_path / "t.csv"
    path.write_bytes("\n".join(["id,text,label", *ROWS * 3, odd, *ROWS[:3], ""]).encode())
    (fast, fast_bad), (slow, slow_bad) = both(path, on_bad_rows="reject")
    assert fast.equals(slow) and fast_bad == slow_bad
    with pytest.raises(InputError) if slow_bad else _nothing():
        both(path)


@pytest.mark.parametrize("block", [16, 1 << 20])
def test_batches_hold_across_blocks(tmp_path, monkeypatch, block):
    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", block)
    path = tmp_path / "t.csv"
    path.write_bytes("\n".join(["id,text,label", *ROWS * 4, "T9,too,many,fields", *ROWS, ""]).encode())
    (fast, fast_bad), (slow, slow_bad) = both(path, batch_rows=3, on_bad_rows="reject")
    assert fast.equals(slow) and fast_bad == slow_bad and fast_bad[0]["line"] == 54


def test_other_encodings_and_a_byte_order_mark(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("\ufeffid,text\nr1,café crème\n".encode("utf-8"))
    (fast, _), (slow, _) = both(path)
    assert fast.equals(slow) and fast.columns == ["id", "text", "_line"]
    path.write_bytes("id,text\nr1,café crème\n".encode("cp1252"))
    frame = pl.concat(f for f, _ in _csv_batches(path, "cp1252", "error", None))
    assert frame["text"].to_list() == ["café crème"]


@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_the_common_file_takes_the_quick_path(tmp_path, end):
    """Windows line ends, empty last fields and quoted fields over lines: polars' reading, told in a few passes."""
    path = tmp_path / "t.csv"
    path.write_bytes(end.join(["id,text,label", *[r for r in ROWS if r] * 5, ""]).encode())
    quick = _quick_block(_mapped_utf8(path, "utf-8"), ",", 1, None, b"", path)
    assert quick is not None
    (_, _), (slow, _) = both(path)
    assert quick[0].with_columns(pl.when(pl.col(pl.String) != "").then(pl.col(pl.String))).equals(slow)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
