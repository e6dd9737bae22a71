"""Ingest: read a file into rows with `id`, `text`, `label` (and `response`), or say exactly what is wrong.

Polars does the reading; a light pass of Python's csv/json finds the line of a malformed row, so
errors name the file and line (a CSV is checked on its bytes first: while its records are regular, polars' reading
is kept and each record's line follows from the newlines; the csv module reads from the first block that is not).
With `on_bad_rows: reject` such rows go to the rejected set instead.
`Ingest` is the run's first stage: it is given no rows and returns what it read, so it is reported,
counted and checked like every other stage.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import hashlib
import io
import re
import json
import mmap
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import polars as pl

from curate.core import columns
from curate.core.text import StableIds
from curate.core import messages as chat
from curate.core.columns import DETAIL, ID, LABEL, MESSAGES, REASON, RESPONSE, SOURCE_LINE, TEXT
from curate.core.errors import InputError
from curate.io.blocks import Rows, columns_of
from curate.io.paths import check_input_file
from curate.io.spec import InputSpec, shared_column
from curate.core.stage import RunContext, Spread, Stage, StageResult, stamp

INGEST = "ingest"
# Every column a stage writes or reads beside the row's own (columns.py names them all): an input column of such a name
# would be taken for curate's (a `review_keep` restores rows, an `augmented_from` is a generated row), so a run's input
# may not have one. Not: the four roles, split names and artifacts, and `source_line`, which the reader sets anew on a
# re-read curate output.
NOT_COLUMNS = {"ID", "TEXT", "LABEL", "RESPONSE", "SOURCE_LINE", "MESSAGES", "TRAIN", "VALIDATION", "TEST"}
CURATE_COLUMNS = frozenset(
    {
        value
        for name, value in vars(columns).items()
        if name.isupper() and isinstance(value, str) and name not in NOT_COLUMNS and not name.endswith("_ARTIFACT")
    }
)
FORMATS = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".parquet": "parquet"}


@dataclass
class Ingested:
    result: StageResult  # kept: readable rows with text; rejected: malformed or empty rows
    fingerprint: dict[str, Any]


def detect_format(path: Path, head: bytes) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"cannot tell the format from the suffix '{path.suffix}'",
            str(path),
            hint="use .csv, .jsonl or .parquet, or set `format:` in the recipe's input",
        )
    if fmt == "jsonl":
        first = head.lstrip().split(b"\n", 1)[0]
        if b'"messages"' in first:
            return "openai"
    return fmt


def _decode_error(path: Path, encoding: str) -> InputError:
    """The decoding error of a file that failed to decode as it was streamed: the whole file decoded once more, here only,
    to name the line and byte."""
    data = path.read_bytes()
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return InputError(
            f"line {line} is not valid {encoding} (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            f"{path}:{line}",
            hint="set `encoding: cp1252` (or latin-1) in the recipe's input if the file comes from Windows or Excel",
        )
    return InputError(f"the file is not valid {encoding}", str(path))


def _text_lines(path: Path, encoding: str) -> Iterator[str]:
    """The file's lines as they are read (ends kept; \n, \r\n and a bare \r end a line, as the csv module counts
    them), decoded, without a leading byte-order mark."""
    try:
        with open(path, encoding=encoding, newline="") as handle:
            for number, line in enumerate(handle):
                yield line.removeprefix("\ufeff") if number == 0 else line
    except UnicodeDecodeError:
        raise _decode_error(path, encoding) from None
    except LookupError:
        raise InputError(f"unknown encoding '{encoding}'", str(path)) from None


def _bad_row(line: int, reason: str, detail: str, raw: str) -> dict[str, Any]:
    return {"line": line, REASON: reason, DETAIL: detail, TEXT: raw[:2000]}


BARE_CR = re.compile(r"\r(?!\n)")  # an old Mac line end: a record end for the csv module, not for polars
CSV_BLOCK_BYTES = 1 << 25  # the fast path parses this much of the file at a time
SCAN_BYTES = 1 << 20  # the byte checks compare this much at a time: its masks stay in cache for the next comparison
QUOTE, LF, CR = ord('"'), ord("\n"), ord("\r")


def _csv_batches(
    path: Path, encoding: str, on_bad_rows: str, batch_rows: int | None
) -> Iterator[tuple[pl.DataFrame, list[dict[str, Any]]]]:
    """(rows, bad rows) per `batch_rows` records. Polars parses the file a block at a time while every record in the
    block is regular (its quotes open and close a field, it has the header's fields, no bare \\r); from the first
    block that is not, the csv module reads the rest line by line (`_csv_line_by_line`), so errors name the line."""
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    header, header_bytes, line, pending, pending_rows, anything = None, b"", 1, [], 0, False
    whole = None if batch_rows else _mapped_utf8(path, encoding)  # read at once: polars maps the file itself
    blocks = [whole] if whole is not None else _record_blocks(_utf8_chunks(path, encoding, CSV_BLOCK_BYTES))
    for block in blocks:
        parsed = _block_frame(block, delimiter, line, header, header_bytes, path if whole is not None else None)
        if parsed is None:  # a record polars would read otherwise than the csv module: line by line from here
            if pending:
                yield pl.concat(pending), []
            yield from _csv_line_by_line(
                _text_lines(path, encoding),
                path,
                on_bad_rows,
                batch_rows,
                after_line=line - 1 if header else 0,
                anything=anything,
            )
            return
        frame, found, header_bytes, line = parsed
        if header is None:
            header = found
            _check_header(header, path)
        anything = anything or frame.height > 0
        pending.append(frame)
        pending_rows += frame.height
        while batch_rows and pending_rows >= batch_rows:
            whole = pl.concat(pending)
            yield whole.head(batch_rows), []
            pending, pending_rows = [whole.slice(batch_rows)], pending_rows - batch_rows
    if header is None:
        raise InputError("the file is empty", str(path))
    if not anything:
        raise InputError("the file has a header but no rows", str(path))
    if pending_rows:
        yield pl.concat(pending), []


def _mapped_utf8(path: Path, encoding: str) -> mmap.mmap | None:
    """The file mapped into memory, if it is to be read as UTF-8 and has no byte-order mark."""
    try:
        if codecs.lookup(encoding).name != "utf-8":
            return None
    except LookupError:
        raise InputError(f"unknown encoding '{encoding}'", str(path)) from None
    with open(path, "rb") as handle:
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    return None if mapped[:3] == codecs.BOM_UTF8 else mapped


def _utf8_chunks(path: Path, encoding: str, size: int) -> Iterator[bytes]:
    """The file as UTF-8 bytes, `size` bytes at a time, without a leading byte-order mark. Bytes that do not decode
    as UTF-8 are left for the line-by-line reader to name."""
    try:
        utf8 = codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        raise InputError(f"unknown encoding '{encoding}'", str(path)) from None
    decoder = None if utf8 else codecs.getincrementaldecoder(encoding)()
    with open(path, "rb") as handle:
        first = True
        while chunk := handle.read(size):
            if decoder is not None:
                try:
                    chunk = decoder.decode(chunk).encode()
                except UnicodeDecodeError:
                    raise _decode_error(path, encoding) from None
            if first:
                chunk, first = chunk.removeprefix(codecs.BOM_UTF8), False
            yield chunk


def _block_frame(
    block: bytes | mmap.mmap,
    delimiter: str,
    first_line: int,
    header: list[str] | None,
    header_bytes: bytes,
    whole: Path | None,
) -> tuple[pl.DataFrame, list[str], bytes, int] | None:
    """A block of whole records as strings with each record's line, the header and the bytes it takes, and the line
    after the block; None when a record in it is not regular (the csv module must read it). The common block is told
    with a few passes over its bytes (`_quick_block`), any other by every record's positions (`_regular_records`).
    `whole`: the file, when the block is all of it, for polars to read."""
    quick = _quick_block(block, delimiter, first_line, header, header_bytes, whole)
    if quick is not None:
        return quick
    block = block[:]  # bytes
    parsed = _regular_records(block, ord(delimiter), first_line, header)
    if parsed is None:
        return None
    found, size, lines, next_line = parsed
    frame = _polars_block(block if header is None else header_bytes + block, lines, delimiter)
    return None if frame is None else (frame, found, block[:size] if header is None else header_bytes, next_line)


def _quick_block(
    block: bytes | mmap.mmap,
    delimiter: str,
    first_line: int,
    header: list[str] | None,
    header_bytes: bytes,
    whole: Path | None,
) -> tuple[pl.DataFrame, list[str], bytes, int] | None:
    """The common block: \\r only before \\n, quotes only around whole fields, a header without quotes, and polars
    reads as many records as the newlines leave once the newlines inside fields are counted, none with more fields
    than the header (polars refuses those) and, when a last field is missing, as many delimiters outside quotes as
    that many full records have. Then each record's line follows from its position and the newlines inside its
    fields. None otherwise (not necessarily irregular: `_regular_records` tells)."""
    if not len(block):
        return None
    body_line = first_line
    if header is not None:
        text = header_bytes + block
    else:
        end = block.find(b"\n")
        first = block[:] if end < 0 else block[:end]
        if b'"' in first:
            return None
        try:
            header = next(csv.reader([first.decode()], delimiter=delimiter))
        except (UnicodeDecodeError, csv.Error, StopIteration):
            return None
        text, header_bytes, body_line = block, block[: len(first) + 1], first_line + 1
    data = np.frombuffer(block, np.uint8)
    scanned = _scan_bytes(data, quoted=block.find(b'"') >= 0, returns=block.find(b"\r") >= 0)
    if scanned is None:  # a bare \r ends a csv module line
        return None
    quotes, newlines = scanned
    if len(quotes) and not _quotes_around_fields(data, quotes, ord(delimiter)):
        return None
    try:
        frame = pl.read_csv(whole or text, infer_schema=False, separator=delimiter)
    except pl.exceptions.PolarsError:
        return None
    if frame.width != len(header):
        return None
    if frame.height and frame[:, -1].null_count():  # an empty last field, or a field missing, or a blank line
        if len(header) == 1:
            return None
        within = frame.select(
            pl.sum_horizontal(pl.col(pl.String).str.count_matches(delimiter, literal=True).fill_null(0)).sum()
        ).item()
        records = frame.height + (body_line - first_line)  # and the header, when the block holds it
        if int(np.count_nonzero(data == ord(delimiter))) - within != (len(header) - 1) * records:
            return None
    inside = newlines - (body_line - first_line) - frame.height + (block[-1] != LF)  # newlines inside fields
    if inside == 0:
        lines = np.arange(body_line, body_line + frame.height)
    elif inside > 0:
        within = frame.select(
            pl.sum_horizontal(pl.col(pl.String).str.count_matches("\n", literal=True).fill_null(0))
        ).to_series()
        if within.sum() != inside:
            return None
        lines = body_line + np.cumsum(within.to_numpy() + 1) - 1
    else:
        return None
    return frame.with_columns(pl.Series("_line", lines, dtype=pl.Int64)), header, header_bytes, first_line + newlines


def _scan_bytes(data: np.ndarray, quoted: bool, returns: bool) -> tuple[np.ndarray, int] | None:
    """The positions of the quotes (none looked for unless `quoted`) and the number of newlines, or None if a \r is
    not followed by a \n (looked for only when `returns`), in one pass over the bytes, a cache-sized piece at a time
    (about twice as fast as a pass over the whole block for each)."""
    quotes, newlines, size = [np.zeros(0, np.intp)], 0, len(data)
    for start in range(0, size, SCAN_BYTES):
        piece = data[start : start + SCAN_BYTES]
        if returns:
            after = np.flatnonzero(piece == CR) + (start + 1)
            if len(after) and (after[-1] == size or not np.all(data[after] == LF)):
                return None
        if quoted:
            quotes.append(np.flatnonzero(piece == QUOTE) + start)
        newlines += int(np.count_nonzero(piece == LF))
    return np.concatenate(quotes), newlines


def _quotes_around_fields(data: np.ndarray, quotes: np.ndarray, delimiter: int) -> bool:
    """Whether every quote (`quotes`: their positions in `data`) opens a field, closes one or is doubled inside one (a
    quote elsewhere is text to the csv module): quotes pair up, each opening one follows a delimiter, a line end or a
    quote, each closing one precedes them."""
    if len(quotes) % 2:
        return False
    size = len(data)
    opening, closing = quotes[0::2], quotes[1::2]
    before = data[np.maximum(opening - 1, 0)]
    if not np.all((opening == 0) | (before == delimiter) | (before == LF) | (before == QUOTE)):
        return False
    after = data[np.minimum(closing + 1, size - 1)]
    return bool(np.all((closing == size - 1) | (after == delimiter) | (after == LF) | (after == CR) | (after == QUOTE)))


def _record_blocks(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The bytes in blocks that end where a record ends (at a newline after an even number of quotes), then the rest."""
    carry = b""
    for chunk in chunks:
        carry += chunk
        if (cut := _last_record_end(carry)) > 0:
            yield carry[:cut]
            carry = carry[cut:]
    yield carry


def _last_record_end(data: bytes) -> int:
    """The position after the last newline that follows an even number of quotes (0 if none): tried from the end
    with a few counts, and over every newline at once if those do not find it (a long quoted field, a stray quote)."""
    quotes, end = data.count(b'"'), len(data)
    for _ in range(64):
        newline = data.rfind(b"\n", 0, end)
        if newline < 0:
            return 0
        quotes -= data.count(b'"', newline, end)
        if quotes % 2 == 0:
            return newline + 1
        end = newline
    array = np.frombuffer(data, np.uint8)
    newlines = np.flatnonzero(array == LF)
    ends = newlines[(np.searchsorted(np.flatnonzero(array == QUOTE), newlines) & 1) == 0]
    return int(ends[-1]) + 1 if len(ends) else 0


def _regular_records(
    block: bytes, delimiter: int, first_line: int, header: list[str] | None
) -> tuple[list[str], int, np.ndarray, int] | None:
    """For a block of whole records, of which every one is regular (each quote opens a field, closes it or is doubled
    inside it; no bare \\r; the header's number of fields, or none on a blank line): (the header, the bytes it takes,
    each data record's line, or 0 for a blank line, and the line after the block). None when any record is not. The
    csv module reads such records exactly as these positions say, so the lines are the ones it would name."""
    data = np.frombuffer(block, np.uint8)
    size = len(data)
    if not size:
        return None if header is None else (header, 0, np.zeros(0, np.int64), first_line)
    quotes = np.flatnonzero(data == QUOTE) if b'"' in block else np.zeros(0, np.int64)
    if len(quotes) and not _quotes_around_fields(data, quotes, delimiter):
        return None
    opening, closing = quotes[0::2], quotes[1::2]
    if b"\r" in block:
        returns = np.flatnonzero(data == CR)
        if returns[-1] == size - 1 or not np.all(data[returns + 1] == LF):
            return None
    newlines = np.flatnonzero(data == LF)
    if len(quotes):
        is_end = (np.searchsorted(quotes, newlines) & 1) == 0
        stops, lines = newlines[is_end], np.flatnonzero(is_end) + first_line
    else:
        stops, lines = newlines, np.arange(first_line, first_line + len(newlines))
    if not len(newlines) or newlines[-1] != size - 1:  # the file's last record, with no newline after it
        stops = np.append(stops, size)
        lines = np.append(lines, first_line + len(newlines))
    starts = np.concatenate(([0], stops[:-1] + 1))
    length = stops - starts
    blank = (length == 0) | ((length == 1) & (data[np.minimum(starts, size - 1)] == CR))
    delimiters = np.flatnonzero(data == delimiter)
    ahead = np.searchsorted(delimiters, stops)  # the delimiters before each record's end, then those outside quotes
    if len(quotes):
        inside = np.cumsum(np.searchsorted(delimiters, closing) - np.searchsorted(delimiters, opening))
        ahead -= np.concatenate(([0], inside))[np.searchsorted(closing, stops)]
    fields = np.diff(ahead, prepend=0) + 1
    if header is None:  # the block opens the file: its first record is the header
        if blank[0]:
            return None
        try:
            header = next(csv.reader([block[: stops[0]].decode()], delimiter=chr(delimiter)))
        except (UnicodeDecodeError, csv.Error, StopIteration):
            return None
        header_size, lines, blank, fields = int(stops[0]) + 1, lines[1:], blank[1:], fields[1:]
    else:
        header_size = 0
    if not np.all(blank | (fields == len(header))):
        return None
    try:
        block.decode()
    except UnicodeDecodeError:
        return None
    return header, header_size, np.where(blank, 0, lines), first_line + len(newlines)


def _polars_block(text: bytes, lines: np.ndarray, delimiter: str) -> pl.DataFrame | None:
    """The block's records as strings, each with its line (`lines`: 0 for a blank line, which polars reads as a row
    of nulls and the csv module skips); None if polars does not read as many records as there are lines."""
    try:
        frame = pl.read_csv(text, infer_schema=False, separator=delimiter)
    except pl.exceptions.PolarsError:
        return None
    if frame.height != len(lines):
        return None
    frame = frame.with_columns(pl.Series("_line", lines, dtype=pl.Int64))
    return frame.filter(pl.col("_line") > 0) if (lines == 0).any() else frame


def _check_header(header: list[str], path: Path) -> None:
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise InputError(
            f"the header names column(s) {', '.join(repr(h) for h in repeated)} more than once",
            f"{path}:1",
            hint="give every column its own name",
        )


def _csv_line_by_line(
    lines: Iterator[str],
    path: Path,
    on_bad_rows: str,
    batch_rows: int | None,
    after_line: int = 0,
    anything: bool = False,
) -> Iterator[tuple[pl.DataFrame, list[dict[str, Any]]]]:
    """The csv module's reading, from the record after `after_line` (the lines before it were read already):
    every physical record is read or rejected alone: a malformed record that spans several lines (an
    unclosed quote swallows what follows) is re-read line by line, so one bad quote cannot take 198 rows with it.
    Yields (rows, bad rows) per `batch_rows` records; the csv module's line numbers hold across batches."""
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    csv.field_size_limit(1 << 30)
    consumed: list[str] = []  # the physical lines of the record being read

    def counted() -> Iterator[str]:
        for line in lines:
            consumed.append(line)
            yield line

    reader = csv.reader(counted(), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError("the file is empty", str(path)) from None
    except csv.Error as exc:
        raise InputError(f"CSV parse error: {exc}", f"{path}:1") from None
    header_text = "".join(consumed)
    consumed.clear()
    _check_header(header, path)
    skipped = max(after_line - reader.line_num, 0)
    for _ in range(skipped):  # lines read already (without a bare \r, so lines and records end alike)
        next(lines, None)
    bad: list[dict[str, Any]] = []
    records: list[tuple[int, list[str]]] = []
    record_lines: list[str] = []  # the physical lines of `records`, for polars' faster parse
    recovered = False

    def reject(line: int, row: list[str]) -> None:
        problem = f"expected {len(header)} fields, found {len(row)}"
        if on_bad_rows == "error":
            raise InputError(
                problem + " (is a comma or quote unescaped?)",
                f"{path}:{line}",
                hint="fix the row, or set `on_bad_rows: reject` in the recipe's input to reject such rows with their line",
            )
        bad.append(_bad_row(line, "malformed_row", f"line {line}: {problem}", delimiter.join(row)))

    try:
        start = reader.line_num + skipped + 1
        for row in reader:
            end = reader.line_num + skipped
            physical = consumed.copy()
            consumed.clear()
            if row and len(row) == len(header):
                records.append((end, row))
                record_lines.extend(physical)
            elif row and end == start:
                reject(start, row)
            elif row:  # one malformed record over several lines: judge each line on its own
                for line, text in enumerate(physical, start=start):
                    alone = next(csv.reader([text], delimiter=delimiter), [])
                    if len(alone) == len(header):
                        records.append((line, alone))
                        recovered = True
                    elif alone:
                        reject(line, alone)
            start = reader.line_num + skipped + 1
            if batch_rows and len(records) >= batch_rows:
                yield _csv_frame(header, header_text + "".join(record_lines), records, bad or recovered, delimiter), bad
                anything, records, record_lines, bad, recovered = True, [], [], [], False
    except csv.Error as exc:
        raise InputError(f"CSV parse error: {exc}", f"{path}:{reader.line_num + skipped}") from None
    if not anything and not records and not bad:
        raise InputError("the file has a header but no rows", str(path))
    if records or bad or not anything:
        yield _csv_frame(header, header_text + "".join(record_lines), records, bad or recovered, delimiter), bad


def _csv_frame(
    header: list[str], text: str, records: list[tuple[int, list[str]]], irregular: bool, delimiter: str
) -> pl.DataFrame:
    """One batch's records as a frame of strings: parsed by polars when the batch is regular (faster), else from the
    records the csv module read; either way with each record's line."""
    frame = None
    if not (irregular or BARE_CR.search(text)):  # only \n ends a record for polars
        try:
            frame = pl.read_csv(io.BytesIO(text.encode()), infer_schema=False, separator=delimiter)
        except pl.exceptions.PolarsError:
            frame = None
        if frame is not None and frame.height != len(
            records
        ):  # the csv module's count is the one rows are accounted by
            frame = None
    if frame is None:
        rows = [row for _, row in records]
        frame = (
            pl.DataFrame(rows, schema=header, orient="row")
            if rows
            else pl.DataFrame(schema={h: pl.String for h in header})
        )
        frame = frame.with_columns(
            pl.when(pl.all() != "").then(pl.all())
        )  # an empty field is missing, as polars reads it
    return frame.with_columns(pl.Series("_line", [line for line, _ in records][: frame.height], dtype=pl.Int64))


def _numbered_lines(lines: Iterator[str], batch_rows: int | None) -> Iterator[list[tuple[int, str]]]:
    """The non-blank lines with their numbers, `batch_rows` at a time (all at once when None)."""
    batch: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            batch.append((number, line.rstrip("\r\n")))
            if batch_rows and len(batch) >= batch_rows:
                yield batch
                batch = []
    if batch:
        yield batch


def _json_object(line: str) -> dict:
    try:
        obj = json.loads(line)
    except RecursionError:  # 100,000 nested brackets
        raise ValueError("values nested too deep to read") from None
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, found {type(obj).__name__}")
    return obj


def _json_lines(
    numbered: list[tuple[int, str]], path: Path, on_bad_rows: str
) -> tuple[list[tuple[int, dict]], list[dict[str, Any]]]:
    rows, bad = [], []
    for number, line in numbered:
        try:
            obj = _json_object(line)
        except ValueError as exc:
            if on_bad_rows == "error":
                raise InputError(
                    f"malformed JSON: {exc}",
                    f"{path}:{number}",
                    hint="fix the line, or set `on_bad_rows: reject` in the recipe's input",
                ) from None
            bad.append(_bad_row(number, "malformed_row", f"line {number}: {exc}", line))
            continue
        rows.append((number, obj))
    return rows, bad


JSON_TYPES = {int: "a number", float: "a number", bool: "a boolean", dict: "an object", list: "a list"}


def _not_text(
    numbered: list[tuple[int, str]], keys: list[str], path: Path, on_bad_rows: str
) -> tuple[list[tuple[int, str]], list[dict[str, Any]]]:
    """Lines whose text, label or response is a number, an object, a list, a boolean or NaN: an error naming the line
    and key, or rejected rows, never values stringified. A polars pattern marks the candidates (the key followed by
    anything but a string or null); only those are parsed here."""
    pattern = "|".join(f'"{pl.escape_regex(key)}"\\s*:\\s*[^"\\sn]' for key in keys)
    candidates = pl.Series([line for _, line in numbered], dtype=pl.String).str.contains(pattern).arg_true().to_list()
    wrong: dict[int, str] = {}
    for index in candidates:
        number, line = numbered[index]
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):
            continue  # malformed or nested too deep: the JSON pass names it
        key = next(
            (k for k in keys if isinstance(obj, dict) and obj.get(k) is not None and not isinstance(obj[k], str)), None
        )
        if key is None:
            continue
        value = obj[key]
        what = (
            "NaN" if isinstance(value, float) and value != value else JSON_TYPES.get(type(value), type(value).__name__)
        )
        problem = f"'{key}' holds {what} ({json.dumps(value)[:60]}), not text"
        if on_bad_rows == "error":
            raise InputError(
                problem,
                f"{path}:{number}",
                hint="write it as a JSON string, or set `on_bad_rows: reject` in the "
                "recipe's input to reject such rows with their line",
            )
        wrong[index] = problem
    if not wrong:
        return numbered, []
    bad = [
        _bad_row(numbered[i][0], "not_text", f"line {numbered[i][0]}: {problem}", numbered[i][1])
        for i, problem in wrong.items()
    ]
    return [pair for i, pair in enumerate(numbered) if i not in wrong], bad


def _text_keys(spec: InputSpec) -> list[str]:
    """The keys of a JSONL record that must hold strings: the text, the label and the response."""
    return list(dict.fromkeys([spec.text, spec.label or LABEL, spec.response or RESPONSE]))


def _jsonl_batch(
    numbered: list[tuple[int, str]], path: Path, on_bad_rows: str, keys: list[str]
) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    numbered, not_text = _not_text(numbered, keys, path, on_bad_rows)
    if not numbered:  # every line of the batch rejected: no rows, with the columns a batch of rows would have
        return pl.DataFrame(schema={"_line": pl.Int64, **{key: pl.String for key in keys}}), not_text
    frame, bad = _jsonl_frame(numbered, path, on_bad_rows)
    return frame, not_text + bad


def _jsonl_frame(
    numbered: list[tuple[int, str]], path: Path, on_bad_rows: str
) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    try:
        frame = pl.read_ndjson(io.BytesIO("\n".join(line for _, line in numbered).encode()), infer_schema_length=None)
        if frame.height == len(numbered):
            return frame.with_columns(pl.Series("_line", [n for n, _ in numbered], dtype=pl.Int64)), []
    except Exception:  # noqa: BLE001 - polars rejects the batch; the Python pass below names the line
        pass
    rows, bad = _json_lines(numbered, path, on_bad_rows)
    frame = pl.DataFrame([obj for _, obj in rows], infer_schema_length=None) if rows else pl.DataFrame()
    return frame.with_columns(pl.Series("_line", [n for n, _ in rows], dtype=pl.Int64)), bad


def _openai_batch(
    numbered: list[tuple[int, str]], path: Path, on_bad_rows: str, label_key: str | None
) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """OpenAI chat JSONL: the conversation kept whole in `messages` (JSON text, every key of every message), with the
    user turns as `text`, the last assistant turn as `response` and the system prompts as `system` for the stages that
    score one side. A curate export read back holds `messages` as that JSON text already."""
    rows, bad = _json_lines(numbered, path, on_bad_rows)
    records = []
    for number, obj in rows:
        messages = obj.get(MESSAGES)
        if isinstance(messages, str):
            try:
                messages = json.loads(messages)
            except ValueError:
                pass
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            if on_bad_rows == "error":
                raise InputError("no `messages` list of {role, content} objects", f"{path}:{number}")
            bad.append(_bad_row(number, "malformed_row", f"line {number}: no messages list", json.dumps(obj)[:2000]))
            continue
        text, response, system = chat.views(messages)
        record = {"_line": number, TEXT: text, RESPONSE: response, "system": system, MESSAGES: chat.dump(messages)}
        for key, value in obj.items():
            if key not in record and not isinstance(value, (dict, list)):
                record[key] = value
        if label_key and isinstance(obj.get("metadata"), dict) and label_key in obj["metadata"]:
            record[label_key] = obj["metadata"][label_key]
        records.append(record)
    return pl.DataFrame(records, infer_schema_length=None), bad


def _parquet_batches(path: Path, batch_rows: int | None) -> Iterator[tuple[pl.DataFrame, list[dict[str, Any]]]]:
    try:
        rows = pl.scan_parquet(path).select(pl.len()).collect().item()
        step = batch_rows or max(rows, 1)
        for start in range(0, max(rows, 1), step):
            frame = pl.scan_parquet(path).slice(start, step).collect()
            yield (
                frame.with_columns(pl.int_range(start + 1, start + frame.height + 1, dtype=pl.Int64).alias("_line")),
                [],
            )
    except pl.exceptions.PolarsError as exc:  # polars/arrow raise several types for a broken file
        raise InputError(f"not a readable Parquet file ({type(exc).__name__}: {exc})", str(path)) from None
    except OSError as exc:
        raise InputError(f"not a readable Parquet file ({type(exc).__name__}: {exc})", str(path)) from None


def _column(frame: pl.DataFrame, wanted: str, role: str, path: Path) -> str:
    if wanted in frame.columns:
        return wanted
    close = difflib.get_close_matches(wanted, [c for c in frame.columns if c != "_line"], n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    columns = ", ".join(c for c in frame.columns if c != "_line")
    raise InputError(
        f"the {role} column '{wanted}' is missing",
        str(path),
        hint=f"{hint}columns in the file: {columns}. Map it in the recipe, e.g. `input: {{{role}: <column>}}`",
    )


def renamed_apart(columns: list[str], taken: set[str]) -> dict[str, str]:
    """New names for input columns named like columns curate writes: `input_<name>` (or `input_input_<name>`, ...,
    never a name already in the file). A published `split` column stays readable beside the split curate makes."""
    renamed, used = {}, set(columns)
    for column in sorted(set(columns) & taken):
        new = f"input_{column}"
        while new in used or new in taken:
            new = f"input_{new}"
        renamed[column] = new
        used.add(new)
    return renamed


def _canonical(
    frame: pl.DataFrame, spec: InputSpec, path: Path, make_ids: StableIds, curate_output: bool
) -> tuple[pl.DataFrame, dict[str, str]]:
    """Rename the mapped columns to id/text/label/response; keep the other columns as they are. Unless the file is a
    curate output (`curate_output`), a column named like curate's own is renamed `input_<name>` (its values would
    otherwise be read as curate's: a `review_keep` restores rows, a `split` assigns them); the renames are returned
    so that the run says them."""
    if problem := shared_column(spec):
        raise InputError(problem, str(path), hint="map each role to a column of its own")
    mapping: dict[str, str] = {_column(frame, spec.text, "text", path): TEXT}
    for role, wanted in ((LABEL, spec.label), (ID, spec.id), (RESPONSE, spec.response)):
        if wanted is not None:
            mapping[_column(frame, wanted, role, path)] = role
        elif role in frame.columns and role not in mapping:  # the column of that name, unless mapped to another role
            mapping[role] = role
    others = [c for c in frame.columns if c not in mapping and c not in mapping.values()]
    renamed = {} if curate_output else renamed_apart(others, set(CURATE_COLUMNS))
    frame = frame.select(
        [pl.col(src).alias(dst) for src, dst in mapping.items()] + [pl.col(c).alias(renamed.get(c, c)) for c in others]
    )
    for column in (TEXT, LABEL, RESPONSE):  # a list, a struct or a number is not text: say so, never stringify it
        if column in frame.columns and frame[column].dtype not in (pl.String, pl.Null, pl.Categorical, pl.Enum):
            source = next(src for src, dst in mapping.items() if dst == column)
            raise InputError(
                f"column '{source}' (the {column}) holds {frame[column].dtype} values, not text",
                str(path),
                hint="map the column that holds the text, or convert it to strings first",
            )
    frame = frame.with_columns(pl.col(TEXT).cast(pl.String))
    if LABEL not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.String).alias(LABEL))
    frame = frame.with_columns(pl.col(LABEL).cast(pl.String))
    if ID in frame.columns:
        frame = frame.with_columns(pl.col(ID).cast(pl.String))
        if frame[ID].null_count():
            line = frame.filter(pl.col(ID).is_null())["_line"][0]
            raise InputError(
                "the id is empty",
                f"{path}:{line}",
                hint="give every row an id, or drop the `id:` mapping to let curate make stable ids",
            )
    else:
        frame = frame.with_columns(make_ids(frame[TEXT]))
    return frame.select([ID, TEXT, LABEL] + [c for c in frame.columns if c not in (ID, TEXT, LABEL)]), renamed


def _check_unique_ids(given: pl.DataFrame, path: Path) -> None:
    """Ids the file gives must not repeat anywhere in it (`given`: every row's id and line)."""
    if given[ID].hash().n_unique() == given.height:  # no id repeats (the common case, told quickly)
        return
    dupes = given.group_by(ID).agg(pl.col("_line").sort()).filter(pl.col("_line").list.len() > 1)
    if dupes.height:
        first = dupes.sort(pl.col("_line").list.first()).row(0, named=True)
        raise InputError(
            f"id '{first[ID]}' is used by more than one row (lines {', '.join(map(str, first['_line'][:5]))}); "
            f"{dupes.height} ids repeat",
            str(path),
            hint="ids must be unique; drop the `id:` mapping to let curate make stable ids",
        )


def _batch_result(frame: pl.DataFrame, bad: list[dict[str, Any]], path: Path) -> StageResult:
    """One batch's rows: those with text kept; empty texts and malformed rows rejected with their line."""
    is_empty = frame.select(pl.col(TEXT).is_null() | (pl.col(TEXT).str.strip_chars() == "")).to_series()
    empty = stamp(
        frame.filter(is_empty), INGEST, "empty_text", pl.format("line {}: the text is empty", pl.col("_line"))
    )
    rejected_bad = pl.DataFrame(bad, schema={"line": pl.Int64, REASON: pl.String, DETAIL: pl.String, TEXT: pl.String})
    rejected_bad = stamp(
        rejected_bad.select(
            (pl.lit(f"{path.name}:line-") + pl.col("line").cast(pl.String)).alias(ID),
            TEXT,
            pl.lit(None, pl.String).alias(LABEL),
            pl.col("line").alias("_line"),
            REASON,
            DETAIL,
        ),
        INGEST,
        pl.col(REASON),
        pl.col(DETAIL),
    )
    rejected = pl.concat([empty, rejected_bad], how="diagonal_relaxed").rename({"_line": SOURCE_LINE})
    kept = frame.filter(~is_empty) if empty.height else frame
    return StageResult(kept=kept.rename({"_line": SOURCE_LINE}), rejected=rejected)


def _sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


@dataclass
class InputReader:
    """The recipe's input, `batch_rows` rows at a time (all at once when None), so a streamed run never holds the
    file: `batches()` yields each batch's result (kept: readable rows with text; rejected: malformed or empty rows).
    Rows are the same whatever the batch size: line numbers count from the file's start, stable ids count a text's
    earlier occurrences in every batch, and an id the file gives may not repeat anywhere in it. `stats` (with the
    file's fingerprint and labels) is complete once every batch is read."""

    spec: InputSpec
    batch_rows: int | None = None
    curate_output: bool = False  # a file curate wrote (an export): columns named like curate's are its own
    stats: dict[str, Any] = field(default_factory=dict)

    def batches(self) -> Iterator[StageResult]:
        path = check_input_file(self.spec.path)
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(4096)
        if not head.strip() and size <= len(head):
            raise InputError("the file is empty", str(path))
        fmt = self.spec.format or detect_format(path, head)
        make_ids, given, labels, rows, schema, renamed = StableIds(), [], [], 0, None, {}
        hashing = ThreadPoolExecutor(max_workers=1)  # the fingerprint is taken while the file is read
        digest = hashing.submit(_sha256, path)
        hashing.shutdown(wait=False)
        for frame, bad in self._parsed(path, fmt):
            if fmt != "openai" and MESSAGES in frame.columns:
                frame = _messages_column(frame, self.spec, path)
            gives_ids = self.spec.id is not None or ID in frame.columns
            frame, renamed = _canonical(
                frame.drop(SOURCE_LINE, strict=False), self.spec, path, make_ids, self.curate_output
            )  # a re-read curate output names its own lines
            schema = schema or frame.schema
            frame = _as_first_batch(frame, schema, path)
            if gives_ids:
                given.append(frame.select(ID, "_line"))
            part = _batch_result(frame, bad, path)
            rows += part.kept.height + part.rejected.height
            labels.append(part.kept[LABEL].value_counts(name="len"))
            yield part
        if given:
            _check_unique_ids(pl.concat(given), path)
        fingerprint = {"path": str(path), "format": fmt, "bytes": size, "sha256": digest.result(), "rows": rows}
        label_totals = pl.concat(labels).group_by(LABEL).agg(pl.col("len").sum()) if labels else pl.DataFrame()
        self.stats = {
            "format": fmt,
            "rows_read": rows,
            "fingerprint": fingerprint,
            "labels": _ordered_counts(label_totals),
            **({"renamed_columns": renamed} if rows and renamed else {}),
        }

    def _parsed(self, path: Path, fmt: str) -> Iterator[tuple[pl.DataFrame, list[dict[str, Any]]]]:
        """(rows with their `_line`, malformed rows) per batch, in the file's format."""
        spec = self.spec
        if fmt == "parquet":
            yield from _parquet_batches(path, self.batch_rows)
        elif fmt == "csv":
            yield from _csv_batches(path, spec.encoding, spec.on_bad_rows, self.batch_rows)
        elif fmt in ("jsonl", "openai"):
            anything = False
            for numbered in _numbered_lines(_text_lines(path, spec.encoding), self.batch_rows):
                anything = True
                yield (
                    _jsonl_batch(numbered, path, spec.on_bad_rows, _text_keys(spec))
                    if fmt == "jsonl"
                    else _openai_batch(numbered, path, spec.on_bad_rows, spec.label)
                )
            if not anything:
                raise InputError("the file is empty", str(path))
        else:
            raise InputError(f"unknown format '{fmt}'", str(path), hint="formats: csv, jsonl, parquet, openai")


def _messages_column(frame: pl.DataFrame, spec: InputSpec, path: Path) -> pl.DataFrame:
    """A `messages` column outside OpenAI chat JSONL: a Hugging Face-style list of {role, content} (Parquet) becomes
    the conversation's JSON text, with the text and response views where the file has no such columns; JSON text
    (curate's own export) stays; anything else is refused, since it would be read as a conversation."""
    values = frame[MESSAGES].to_list()
    if isinstance(frame[MESSAGES].dtype, pl.List):
        lists = [None if v is None else [{k: x for k, x in m.items() if x is not None} for m in v] for v in values]
    else:
        lists = []
        for line, value in zip(frame["_line"].to_list(), values, strict=True):
            try:
                parsed = None if value is None else json.loads(value)
            except (TypeError, ValueError):
                parsed = False
            if parsed is not None and (not isinstance(parsed, list) or not all(isinstance(m, dict) for m in parsed)):
                raise InputError(
                    "column 'messages' holds something that is not a list of {role, content} messages",
                    f"{path}:{line}",
                    hint="curate reads a `messages` column as a conversation: rename the column if it is not one",
                )
            lists.append(parsed)
    views = [chat.views(m) if m is not None else (None, None, None) for m in lists]
    frame = frame.with_columns(
        pl.Series(MESSAGES, [chat.dump(m) if m is not None else None for m in lists], dtype=pl.String)
    )
    for index, wanted in enumerate((spec.text, spec.response or RESPONSE, "system")):
        if wanted not in frame.columns:
            frame = frame.with_columns(pl.Series(wanted, [v[index] for v in views], dtype=pl.String))
    return frame


def _as_first_batch(frame: pl.DataFrame, schema: pl.Schema, path: Path) -> pl.DataFrame:
    """A later batch's columns typed as the first batch's (a JSONL column inferred anew per batch), or a clear error
    when its values cannot be: the rows of one file are one table."""
    for name, dtype in frame.schema.items():
        first = schema.get(name)
        if first is None or first == dtype or dtype == pl.Null or first == pl.Null:
            continue
        try:
            frame = frame.with_columns(pl.col(name).cast(first))
        except pl.exceptions.PolarsError:
            raise InputError(
                f"column '{name}' holds {first} values in the file's first rows and {dtype} values from line "
                f"{frame['_line'][0]} on",
                str(path),
                hint="give the column one type throughout (or convert the file to Parquet)",
            ) from None
    return frame


def read_input(spec: InputSpec, curate_output: bool = False) -> Ingested:
    """Read the recipe's input at once; malformed rows raise (or are rejected), empty texts are rejected. A
    `curate_output` (an export read back) may hold curate's own columns."""
    result = Ingest(spec, curate_output).apply()
    fingerprint = result.stats.pop("fingerprint")
    result.stats.pop("labels")
    return Ingested(result, fingerprint)


@dataclass
class Ingest(Stage):
    """The run's first stage: reads the recipe's input (given no rows); the fingerprint goes in its stats."""

    spec: InputSpec
    curate_output: bool = False

    name: ClassVar[str] = INGEST
    requires: ClassVar[tuple[str, ...]] = ()
    produces: ClassVar[tuple[str, ...]] = (ID, TEXT, LABEL, SOURCE_LINE)
    spread: ClassVar[Spread] = Spread.source()  # reads the run's rows, a batch at a time

    def apply(self, rows: pl.DataFrame | None = None, ctx: RunContext | None = None) -> StageResult:
        parts = list(self.read_in_batches(None, ctx))
        return StageResult(
            kept=pl.concat([p.kept for p in parts], how="diagonal_relaxed"),
            rejected=pl.concat([p.rejected for p in parts], how="diagonal_relaxed"),
            stats=parts[-1].stats,
        )

    def read_in_batches(self, batch_rows: int | None, ctx: RunContext | None = None) -> Iterator[StageResult]:
        reader = InputReader(self.spec, batch_rows, self.curate_output)
        last = None
        for part in reader.batches():
            yield part
            last = part
        yield StageResult(kept=last.kept.clear(), rejected=last.rejected.clear(), stats=reader.stats)


def label_counts(rows: Rows) -> dict[str, int]:
    """Rows per label, largest first (only the label column is read)."""
    if LABEL not in rows.columns or rows.height == 0:
        return {}
    return _ordered_counts(columns_of(rows, LABEL).group_by(LABEL).len())


def _ordered_counts(counts: pl.DataFrame) -> dict[str, int]:
    """{label: rows} from a frame of labels and their `len`, largest first."""
    if counts.height == 0:
        return {}
    counts = counts.sort(["len", LABEL], descending=[True, False])
    return {str(k): int(v) for k, v in zip(counts[LABEL].to_list(), counts["len"].to_list())}
