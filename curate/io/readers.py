"""Ingest: read a file into rows with `id`, `text`, `label` (and `response`), or say exactly what is wrong.

Polars does the reading; a light pass of Python's csv/json finds the line of a malformed row, so
errors name the file and line. With `on_bad_rows: reject` such rows go to the rejected set instead.
`Ingest` is the run's first stage: it is given no rows and returns what it read, so it is reported,
counted and checked like every other stage.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import re
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import polars as pl

from curate.core.text import stable_ids
from curate.core.columns import DETAIL, ID, LABEL, REASON, RESPONSE, SOURCE_LINE, TEXT
from curate.core.errors import InputError
from curate.io.blocks import Blocks
from curate.io.spec import InputSpec
from curate.core.stage import RunContext, Stage, StageResult, stamp

INGEST = "ingest"
FORMATS = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".parquet": "parquet"}


@dataclass
class Ingested:
    result: StageResult  # kept: readable rows with text; rejected: malformed or empty rows
    fingerprint: dict[str, Any]


def detect_format(path: Path, head: bytes) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"cannot tell the format from the suffix '{path.suffix}'", str(path),
                         hint="use .csv, .jsonl or .parquet, or set `format:` in the recipe's input")
    if fmt == "jsonl":
        first = head.lstrip().split(b"\n", 1)[0]
        if b'"messages"' in first:
            return "openai"
    return fmt


def _decode(data: bytes, encoding: str, path: Path) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"line {line} is not valid {encoding} (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            f"{path}:{line}", hint="set `encoding: cp1252` (or latin-1) in the recipe's input if the file comes from Windows or Excel",
        ) from None
    except LookupError:
        raise InputError(f"unknown encoding '{encoding}'", str(path)) from None


def _bad_row(line: int, reason: str, detail: str, raw: str) -> dict[str, Any]:
    return {"line": line, REASON: reason, DETAIL: detail, TEXT: raw[:2000]}


BARE_CR = re.compile(r"\r(?!\n)")  # an old Mac line end: a record end for the csv module, not for polars


def _read_csv(text: str, path: Path, on_bad_rows: str) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """Every physical record is read or rejected alone: a malformed record that spans several lines (an
    unclosed quote swallows what follows) is re-read line by line, so one bad quote cannot take 198 rows with it."""
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    csv.field_size_limit(1 << 30)
    physical: list[str] = []  # the lines csv counts in `line_num`; split only when a malformed record needs them
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError("the file is empty", str(path)) from None
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise InputError(f"the header names column(s) {', '.join(repr(h) for h in repeated)} more than once", f"{path}:1",
                         hint="give every column its own name")
    bad: list[dict[str, Any]] = []
    records: list[tuple[int, list[str]]] = []
    recovered = False

    def reject(line: int, row: list[str]) -> None:
        problem = f"expected {len(header)} fields, found {len(row)}"
        if on_bad_rows == "error":
            raise InputError(problem + " (is a comma or quote unescaped?)", f"{path}:{line}",
                             hint="fix the row, or set `on_bad_rows: reject` in the recipe's input to reject such rows with their line")
        bad.append(_bad_row(line, "malformed_row", f"line {line}: {problem}", delimiter.join(row)))

    try:
        start = reader.line_num + 1
        for row in reader:
            end = reader.line_num
            if row and len(row) == len(header):
                records.append((end, row))
            elif row and end == start:
                reject(start, row)
            elif row:  # one malformed record over several lines: judge each line on its own
                physical = physical or io.StringIO(text, newline="").readlines()
                for line in range(start, end + 1):
                    alone = next(csv.reader([physical[line - 1]], delimiter=delimiter), [])
                    if len(alone) == len(header):
                        records.append((line, alone))
                        recovered = True
                    elif alone:
                        reject(line, alone)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(f"CSV parse error: {exc}", f"{path}:{reader.line_num}") from None
    if not records and not bad:
        raise InputError("the file has a header but no rows", str(path))
    frame = None
    if not (bad or recovered or BARE_CR.search(text)):  # polars is faster, but only \n ends a record for it
        try:
            frame = pl.read_csv(io.BytesIO(text.encode()), infer_schema=False, separator=delimiter)
        except pl.exceptions.PolarsError:
            frame = None
        if frame is not None and frame.height != len(records):  # the csv module's count is the one rows are accounted by
            frame = None
    if frame is None:
        rows = [row for _, row in records]
        frame = pl.DataFrame(rows, schema=header, orient="row") if rows else pl.DataFrame(schema={h: pl.String for h in header})
    frame = frame.with_columns(pl.Series("_line", [line for line, _ in records][: frame.height], dtype=pl.Int64))
    return frame, bad


def _json_lines(text: str, path: Path, on_bad_rows: str) -> tuple[list[tuple[int, dict]], list[dict[str, Any]]]:
    rows, bad = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError(f"expected a JSON object, found {type(obj).__name__}")
        except (json.JSONDecodeError, ValueError) as exc:
            if on_bad_rows == "error":
                raise InputError(f"malformed JSON: {exc}", f"{path}:{number}",
                                 hint="fix the line, or set `on_bad_rows: reject` in the recipe's input") from None
            bad.append(_bad_row(number, "malformed_row", f"line {number}: {exc}", line))
            continue
        rows.append((number, obj))
    if not rows and not bad:
        raise InputError("the file is empty", str(path))
    return rows, bad


def _read_jsonl(text: str, path: Path, on_bad_rows: str) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    try:
        frame = pl.read_ndjson(io.BytesIO(text.encode()), infer_schema_length=None)
        lines = [i for i, line in enumerate(text.splitlines(), start=1) if line.strip()]
        if len(lines) == frame.height:
            return frame.with_columns(pl.Series("_line", lines, dtype=pl.Int64)), []
    except Exception:  # noqa: BLE001 - polars rejects the file; the Python pass below names the line
        pass
    rows, bad = _json_lines(text, path, on_bad_rows)
    frame = pl.DataFrame([obj for _, obj in rows], infer_schema_length=None) if rows else pl.DataFrame()
    return frame.with_columns(pl.Series("_line", [n for n, _ in rows], dtype=pl.Int64)), bad


def _content(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, list):  # multimodal-style parts: keep the text parts
        return "\n".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content if isinstance(content, str) else ""


def _read_openai(text: str, path: Path, on_bad_rows: str, label_key: str | None) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """OpenAI chat JSONL: the user turns become `text`, the last assistant turn `response`."""
    rows, bad = _json_lines(text, path, on_bad_rows)
    records = []
    for number, obj in rows:
        messages = obj.get("messages")
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            if on_bad_rows == "error":
                raise InputError("no `messages` list of {role, content} objects", f"{path}:{number}")
            bad.append(_bad_row(number, "malformed_row", f"line {number}: no messages list", json.dumps(obj)[:2000]))
            continue
        by_role: dict[str, list[str]] = {}
        for message in messages:
            by_role.setdefault(str(message.get("role")), []).append(_content(message))
        record = {
            "_line": number,
            TEXT: "\n\n".join(by_role.get("user", [])),
            RESPONSE: (by_role.get("assistant") or [None])[-1],
            "system": "\n\n".join(by_role.get("system", [])) or None,
        }
        for key, value in obj.items():
            if key != "messages" and not isinstance(value, (dict, list)):
                record[key] = value
        if label_key and isinstance(obj.get("metadata"), dict) and label_key in obj["metadata"]:
            record[label_key] = obj["metadata"][label_key]
        records.append(record)
    return pl.DataFrame(records, infer_schema_length=None), bad


def _column(frame: pl.DataFrame, wanted: str, role: str, path: Path) -> str:
    if wanted in frame.columns:
        return wanted
    close = difflib.get_close_matches(wanted, [c for c in frame.columns if c != "_line"], n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    columns = ", ".join(c for c in frame.columns if c != "_line")
    raise InputError(f"the {role} column '{wanted}' is missing", str(path),
                     hint=f"{hint}columns in the file: {columns}. Map it in the recipe, e.g. `input: {{{role}: <column>}}`")


def _canonical(frame: pl.DataFrame, spec: InputSpec, path: Path) -> pl.DataFrame:
    """Rename the mapped columns to id/text/label/response; keep the other columns as they are."""
    mapping: dict[str, str] = {_column(frame, spec.text, "text", path): TEXT}
    if spec.label is not None:
        mapping[_column(frame, spec.label, "label", path)] = LABEL
    elif LABEL in frame.columns:
        mapping[LABEL] = LABEL
    if spec.id is not None:
        mapping[_column(frame, spec.id, "id", path)] = ID
    elif ID in frame.columns:
        mapping[ID] = ID
    if spec.response is not None:
        mapping[_column(frame, spec.response, "response", path)] = RESPONSE
    elif RESPONSE in frame.columns:
        mapping[RESPONSE] = RESPONSE
    others = [c for c in frame.columns if c not in mapping and c not in mapping.values()]
    frame = frame.select([pl.col(src).alias(dst) for src, dst in mapping.items()] + others)
    for column in (TEXT, LABEL, RESPONSE):  # a list, a struct or a number is not text: say so, never stringify it
        if column in frame.columns and frame[column].dtype not in (pl.String, pl.Null, pl.Categorical, pl.Enum):
            source = next(src for src, dst in mapping.items() if dst == column)
            raise InputError(f"column '{source}' (the {column}) holds {frame[column].dtype} values, not text", str(path),
                             hint="map the column that holds the text, or convert it to strings first")
    frame = frame.with_columns(pl.col(TEXT).cast(pl.String))
    if LABEL not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.String).alias(LABEL))
    frame = frame.with_columns(pl.col(LABEL).cast(pl.String))
    if ID in frame.columns:
        frame = frame.with_columns(pl.col(ID).cast(pl.String))
        if frame[ID].null_count():
            line = frame.filter(pl.col(ID).is_null())["_line"][0]
            raise InputError("the id is empty", f"{path}:{line}", hint="give every row an id, or drop the `id:` mapping to let curate make stable ids")
        dupes = frame.group_by(ID).agg(pl.col("_line")).filter(pl.col("_line").list.len() > 1)
        if dupes.height:
            first = dupes.row(0, named=True)
            raise InputError(f"id '{first[ID]}' is used by more than one row (lines {', '.join(map(str, first['_line'][:5]))}); "
                             f"{dupes.height} ids repeat", str(path), hint="ids must be unique; drop the `id:` mapping to let curate make stable ids")
    else:
        frame = frame.with_columns(stable_ids(frame[TEXT]))
    return frame.select([ID, TEXT, LABEL] + [c for c in frame.columns if c not in (ID, TEXT, LABEL)])


def read_input(spec: InputSpec) -> Ingested:
    """Read the recipe's input; malformed rows raise (or are rejected), empty texts are rejected."""
    path = Path(spec.path)
    if not path.exists():
        raise InputError("input file not found", str(path), hint=f"paths are relative to the current folder ({Path.cwd()})")
    if path.is_dir():
        raise InputError("input is a folder, not a file", str(path))
    data = path.read_bytes()
    if not data.strip():
        raise InputError("the file is empty", str(path))
    fmt = spec.format or detect_format(path, data[:4096])
    bad: list[dict[str, Any]] = []
    if fmt == "parquet":
        try:
            frame = pl.read_parquet(io.BytesIO(data))
        except Exception as exc:  # noqa: BLE001 - polars/arrow raise several types for a broken file
            raise InputError(f"not a readable Parquet file ({type(exc).__name__}: {exc})", str(path)) from None
        frame = frame.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("_line"))
    else:
        text = _decode(data, spec.encoding, path)
        if text.startswith("\ufeff"):
            text = text[1:]
        if fmt == "csv":
            frame, bad = _read_csv(text, path, spec.on_bad_rows)
        elif fmt == "jsonl":
            frame, bad = _read_jsonl(text, path, spec.on_bad_rows)
        elif fmt == "openai":
            frame, bad = _read_openai(text, path, spec.on_bad_rows, spec.label)
        else:
            raise InputError(f"unknown format '{fmt}'", str(path), hint="formats: csv, jsonl, parquet, openai")
    frame = _canonical(frame.drop(SOURCE_LINE, strict=False), spec, path)  # a re-read curate output names its own lines

    is_empty = pl.col(TEXT).is_null() | (pl.col(TEXT).str.strip_chars() == "")
    empty = stamp(frame.filter(is_empty), INGEST, "empty_text", pl.format("line {}: the text is empty", pl.col("_line")))
    kept = frame.filter(~is_empty)
    rejected_bad = pl.DataFrame(bad, schema={"line": pl.Int64, REASON: pl.String, DETAIL: pl.String, TEXT: pl.String})
    rejected_bad = stamp(rejected_bad.select(
        (pl.lit(f"{path.name}:line-") + pl.col("line").cast(pl.String)).alias(ID), TEXT,
        pl.lit(None, pl.String).alias(LABEL), pl.col("line").alias("_line"), REASON, DETAIL,
    ), INGEST, pl.col(REASON), pl.col(DETAIL))
    rejected = pl.concat([empty, rejected_bad], how="diagonal_relaxed").rename({"_line": SOURCE_LINE})
    kept = kept.rename({"_line": SOURCE_LINE})
    fingerprint = {
        "path": str(path), "format": fmt, "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(), "rows": kept.height + rejected.height,
    }
    stats = {"format": fmt, "rows_read": kept.height + rejected.height}
    return Ingested(StageResult(kept=kept, rejected=rejected, stats=stats), fingerprint)


@dataclass
class Ingest(Stage):
    """The run's first stage: reads the recipe's input (given no rows); the fingerprint goes in its stats."""

    spec: InputSpec

    name: ClassVar[str] = INGEST
    requires: ClassVar[tuple[str, ...]] = ()
    produces: ClassVar[tuple[str, ...]] = (ID, TEXT, LABEL, SOURCE_LINE)
    is_source: ClassVar[bool] = True

    def apply(self, rows: pl.DataFrame | None = None, ctx: RunContext | None = None) -> StageResult:
        ingested = read_input(self.spec)
        ingested.result.stats.update(fingerprint=ingested.fingerprint, labels=label_counts(ingested.result.kept))
        return ingested.result


def label_counts(frame: pl.DataFrame | Blocks) -> dict[str, int]:
    """Rows per label, largest first (of a streamed run's blocks, only their label column is read)."""
    if isinstance(frame, Blocks) and LABEL in frame.columns:
        frame = frame.select(LABEL)
    if LABEL not in frame.columns or frame.height == 0:
        return {}
    counts = frame.group_by(LABEL).len().sort(["len", LABEL], descending=[True, False])
    return {str(k): int(v) for k, v in zip(counts[LABEL].to_list(), counts["len"].to_list())}
