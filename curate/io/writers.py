"""Writing a dataset out: Parquet, JSONL, OpenAI chat fine-tuning JSONL, a Hugging Face DatasetDict, or one
Parquet file per split (what `datasets.load_dataset("parquet", data_files=...)` and most trainers read)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from curate.core import messages as chat
from curate.core.columns import LABEL, MESSAGES, RESPONSE, SAMPLE_WEIGHT, SPLIT, TEST, TEXT, TRAIN, VALIDATION
from curate.core.errors import CurateError, InputError
from curate.core.extras import require
from curate.io.spec import InputSpec

SUFFIX_FORMATS = {".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def load_dataset(
    source: str | Path | InputSpec, text: str = TEXT, label: str | None = None, id: str | None = None
) -> pl.DataFrame:
    """The approved rows of a run directory, or the readable rows of a data file (columns id/text/label)."""
    from curate.io.readers import read_input
    from curate.io.rundir import RunDir

    spec = source if isinstance(source, InputSpec) else InputSpec(path=Path(source), text=text, label=label, id=id)
    if Path(spec.path).is_dir():
        return RunDir(Path(spec.path)).approved
    return read_input(spec, curate_output=True).result.kept


def select_split(frame: pl.DataFrame, split: str) -> pl.DataFrame:
    """The rows of one split (`all`: every row); a frame without a split column is all train."""
    if split not in (TRAIN, VALIDATION, TEST, "all"):
        raise CurateError(f"unknown split '{split}'", "--split", hint="train | validation | test | all")
    if split == "all" or SPLIT not in frame.columns:
        return frame
    return frame.filter(pl.col(SPLIT) == split)


def to_openai_chat(frame: pl.DataFrame, system: str | None = None, target: str = "auto") -> list[dict]:
    """One {"messages": [...]} record per row. A conversation (a row with `messages`) is written back whole, every turn
    and key as it came in (redaction's placeholders excepted), with `system` put first only where it has no system
    prompt; any other row becomes a user turn (the text) and an assistant turn (the response, or the label)."""
    if target == "auto":
        target = RESPONSE if RESPONSE in frame.columns else LABEL
    if target not in (RESPONSE, LABEL):
        raise CurateError(f"target must be 'response', 'label' or 'auto', not '{target}'", "--target")
    whole = frame[MESSAGES] if MESSAGES in frame.columns and target == RESPONSE else pl.Series([None] * frame.height)
    if whole.null_count() == frame.height and (
        target not in frame.columns or frame[target].null_count() == frame.height
    ):
        raise InputError(f"the data has no '{target}' column to use as the assistant turn", "--target")
    answers = frame[target] if target in frame.columns else pl.Series([None] * frame.height)
    records = []
    for conversation, text, answer in zip(whole.to_list(), frame[TEXT].to_list(), answers.to_list(), strict=True):
        if conversation is not None:
            messages = chat.load(conversation)
            if system and not any(m.get("role") == "system" for m in messages):
                messages = [{"role": "system", "content": system}, *messages]
        else:
            messages = [{"role": "system", "content": system}] if system else []
            messages += [{"role": "user", "content": text}, {"role": "assistant", "content": answer or ""}]
        records.append({"messages": messages})
    return records


def split_frames(frame: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The non-empty splits of a run's rows, in train/validation/test order (all rows are train without a split)."""
    if SPLIT not in frame.columns:
        return {TRAIN: frame}
    splits = {s: frame.filter(pl.col(SPLIT) == s) for s in (TRAIN, VALIDATION, TEST)}
    return {name: rows for name, rows in splits.items() if not rows.is_empty()}


def hand_off_columns(frame: pl.DataFrame) -> list[str]:
    """The columns a trainer needs: id, text, label and response where the run has them, `messages` for
    conversations, and `sample_weight` when rebalance wrote weights instead of copies (`fill: weight`)."""
    return [
        c
        for c in ("id", TEXT, LABEL, RESPONSE, MESSAGES, SAMPLE_WEIGHT)
        if c in frame.columns and frame[c].null_count() < frame.height
    ]


def hand_off(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """The `columns` of the rows (`hand_off_columns` of the whole set), a conversation's `messages` as the list of
    {role, content} that chat templates and TRL's SFTTrainer read (the text of each message; tool calls and other
    keys only in `--format openai`)."""
    rows = frame.select(columns)
    if MESSAGES not in rows.columns:
        return rows
    turns = [
        [{"role": str(m.get("role")), "content": chat.content_text(m)} for m in chat.load(value)] if value else None
        for value in rows[MESSAGES].to_list()
    ]
    dtype = pl.List(pl.Struct({"role": pl.String, "content": pl.String}))
    return rows.with_columns(pl.Series(MESSAGES, turns, dtype=dtype))


def to_hf_dataset(frame: pl.DataFrame):
    """A Hugging Face `DatasetDict`, one split per value of the run's split column (all rows in "train" without
    one), with id, text, the label as a `ClassLabel` (the same names, sorted, in every split) and the response."""
    require("export --format hf", "datasets")
    import datasets

    columns = hand_off_columns(frame)
    names = sorted(frame[LABEL].drop_nulls().unique().to_list()) if LABEL in columns else []
    result = {}
    for name, rows in split_frames(frame).items():
        dataset = datasets.Dataset.from_polars(hand_off(rows, columns))
        if names:
            dataset = dataset.cast_column(LABEL, datasets.ClassLabel(names=names))
        result[name] = dataset
    return datasets.DatasetDict(result)


def export_frame(
    frame: pl.DataFrame, out: Path, format: str | None = None, system: str | None = None, target: str = "auto"
) -> int:
    """Write `frame` to `out`; returns the number of rows written."""
    out = Path(out)
    format = format or SUFFIX_FORMATS.get(out.suffix.lower())
    if format is None:
        raise CurateError(
            f"cannot tell the format from '{out.suffix}'",
            str(out),
            hint="pass --format parquet | jsonl | openai | hf | splits",
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    if format == "parquet":
        frame.write_parquet(out, compression="zstd")
    elif format == "jsonl":
        frame.write_ndjson(out)
    elif format == "hf":  # a folder: DatasetDict.save_to_disk, for datasets.load_from_disk
        to_hf_dataset(frame).save_to_disk(str(out))
    elif format == "splits":  # a folder: <split>.parquet for load_dataset("parquet", data_files=...)
        out.mkdir(parents=True, exist_ok=True)
        for name, rows in split_frames(frame).items():
            hand_off(rows, hand_off_columns(frame)).write_parquet(out / f"{name}.parquet", compression="zstd")
    elif format == "openai":
        with out.open("w", encoding="utf-8") as handle:
            for record in to_openai_chat(frame, system, target):
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    else:
        raise CurateError(f"unknown format '{format}'", "--format", hint="parquet | jsonl | openai | hf | splits")
    return frame.height
