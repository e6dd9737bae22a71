"""A corpus of bad inputs, recipes and command lines, each run through the real CLI: no traceback ever
reaches the user, the exit code is the documented one (2: a bad recipe or input; 3: a check failed),
and the message names the file and line, or the recipe key. Rows are never lost silently: where a run
succeeds, every record is approved or rejected.

Each case is (name, files to write, command line, expected exit code, text the output must contain).
`{dir}` in a file's content or the command stands for the case's folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from curate.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
GOOD_CSV = "id,text,label\n" + "".join(
    f"r{i},please help me with order number {i} today,{'a' if i % 2 else 'b'}\n" for i in range(40)
)


def recipe(stages: str = "[clean]", input_: str = "{path: {dir}/t.csv, label: label}", extra: str = "") -> str:
    return f"input: {input_}\nstages: {stages}\noutput: {{dir}}/out\n{extra}"


def run_case(
    files: dict[str, str | bytes],
    stages: str = "[clean]",
    input_: str = "{path: {dir}/t.csv, label: label}",
    extra: str = "",
):
    return {"t.csv": GOOD_CSV, **files, "r.yaml": recipe(stages, input_, extra)}, ["run", "{dir}/r.yaml"]


CASES: list[tuple[str, dict, list[str], int, str]] = []


def case(name: str, files: dict, argv: list[str], code: int, says: str) -> None:
    CASES.append((name, files, argv, code, says))


# --- input files -----------------------------------------------------------------------------------
def bad_input(
    name: str, content: str | bytes, says: str, filename: str = "t.csv", input_: str | None = None, code: int = 2
) -> None:
    files, argv = run_case({filename: content}, input_=input_ or f"{{path: {{dir}}/{filename}, label: label}}")
    case(f"input: {name}", files, argv, code, says)


bad_input("empty file", "", "the file is empty")
bad_input("whitespace only", "  \n\n ", "the file is empty")
bad_input("header only", "id,text,label\n", "header but no rows")
bad_input(
    "unclosed quote on line 3",
    'id,text,label\nr1,fine,a\nr2,"broken,a\n' + "".join(f"r{i},ok {i},b\n" for i in range(3, 200)),
    "t.csv:3",
)
bad_input("extra field on line 4", "id,text,label\nr1,a,a\nr2,b,a\nr3,c,a,d\n", "t.csv:4")
bad_input("missing field on line 2", "id,text,label\nr1,a\n", "t.csv:2")
bad_input("no text column", "id,body,label\nr1,hello,a\n", "text")
bad_input("label column named but absent", "id,text\nr1,hello\n", "label")
bad_input("duplicate header names", "id,text,text,label\nr1,a,b,c\n", "t.csv")
bad_input("binary garbage", bytes(range(256)) * 4, "t.csv")
bad_input("latin-1 bytes read as utf-8", "id,text,label\nr1,caf\xe9 cr\xe8me,a\n".encode("latin-1"), "t.csv")
bad_input("NUL bytes", b"id,text,label\nr1,a\x00b,a\n", "accounted for", code=0)
bad_input(
    "broken JSONL line 2",
    '{"id": "1", "text": "a", "label": "x"}\n{"id": 2, "text": \n',
    "t.jsonl:2",
    filename="t.jsonl",
)
bad_input(
    "JSONL line that is not an object", '{"id": "1", "text": "a", "label": "x"}\n42\n', "t.jsonl:2", filename="t.jsonl"
)
bad_input("JSONL list in the text", '{"id": "1", "text": ["a", "b"], "label": "x"}\n', "text", filename="t.jsonl")
bad_input(
    "JSONL object as the label", '{"id": "1", "text": "a", "label": {"name": "x"}}\n', "label", filename="t.jsonl"
)
bad_input("JSONL without the text key", '{"id": "1", "body": "a", "label": "x"}\n', "text", filename="t.jsonl")
bad_input("corrupt Parquet", b"PAR1 this is not parquet PAR1", "t.parquet", filename="t.parquet")
bad_input(
    "OpenAI chat without messages",
    '{"conversation": []}\n',
    "t.jsonl",
    filename="t.jsonl",
    input_="{path: {dir}/t.jsonl, format: openai}",
)
bad_input(
    "OpenAI chat without a user turn",
    '{"messages": [{"role": "system", "content": "x"}]}\n',
    "1 rejected",
    filename="t.jsonl",
    input_="{path: {dir}/t.jsonl, format: openai}",
    code=0,
)
bad_input("unknown format", "x", "unknown format", filename="t.csv", input_="{path: {dir}/t.csv, format: xml}")
bad_input("unknown suffix", "x", "t.xyz", filename="t.xyz")
bad_input("input not found", "x", "input file not found", input_="{path: {dir}/nope.csv}")
bad_input("input is a folder", "x", "a folder", input_="{path: {dir}}")
bad_input("UTF-16 file read as utf-8", "id,text,label\nr1,hello,a\n".encode("utf-16"), "t.csv")
bad_input("unclosed quote at the end", 'id,text,label\nr1,"never closed,a\n', "t.csv:2")


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    import io

    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


bad_input(
    "Parquet list in the text",
    parquet_bytes(pl.DataFrame({"id": ["1"], "text": [["a", "b"]], "label": ["x"]})),
    "text",
    filename="t.parquet",
)
bad_input(
    "Parquet struct as the label",
    parquet_bytes(pl.DataFrame({"id": ["1"], "text": ["a"], "label": [{"n": "x"}]})),
    "label",
    filename="t.parquet",
)
bad_input(
    "Parquet integer text",
    parquet_bytes(pl.DataFrame({"id": ["1"], "text": [5], "label": ["x"]})),
    "text",
    filename="t.parquet",
)
bad_input("duplicate ids", "id,text,label\nr1,hello there,a\nr1,hello again,a\n", "r1")


# --- recipes --------------------------------------------------------------------------------------
def bad_recipe(name: str, text: str, says: str, code: int = 2, files: dict | None = None) -> None:
    case(f"recipe: {name}", {"t.csv": GOOD_CSV, **(files or {}), "r.yaml": text}, ["run", "{dir}/r.yaml"], code, says)


def bad_stage(name: str, stages: str, says: str, files: dict | None = None) -> None:
    bad_recipe(name, recipe(stages), says, files=files)


bad_recipe("empty", "", "the recipe is empty")
bad_recipe("not a mapping", "- clean\n", "must be a mapping")
bad_recipe("YAML syntax error", "input: {path: x\nstages: [clean\n", "not valid YAML")
bad_recipe("tab indentation", "input:\n\tpath: x.csv\n", "not valid YAML")
bad_recipe(
    "duplicate key",
    "input: {path: {dir}/t.csv}\nstages: [clean]\nstages: [redact]\noutput: {dir}/out\n",
    "appears twice",
)
bad_recipe("unknown top key", recipe() + "stagse: [clean]\n", "unknown key 'stagse'")
bad_recipe("no input", "stages: [clean]\noutput: {dir}/out\n", "missing `input`")
bad_recipe("input without path", "input: {text: body}\nstages: [clean]\noutput: {dir}/out\n", "no `path`")
bad_recipe("unknown input key", recipe(input_="{path: {dir}/t.csv, txt: body}"), "unknown input key 'txt'")
bad_recipe("no stages", "input: {path: {dir}/t.csv}\noutput: {dir}/out\n", "stages")
bad_recipe("stages not a list", "input: {path: {dir}/t.csv}\nstages: clean\noutput: {dir}/out\n", "stages")
bad_recipe("no output", "input: {path: {dir}/t.csv}\nstages: [clean]\n", "missing `output`")
bad_recipe("seed not an integer", recipe(extra="seed: abc\n"), "seed")
bad_recipe("python tag", "input: !!python/object:os.system {}\nstages: [clean]\noutput: {dir}/out\n", "not allowed")
bad_recipe("rejected_text unknown", recipe(extra="rejected_text: maybe\n"), "rejected_text")
bad_recipe("on_bad_rows unknown", recipe(input_="{path: {dir}/t.csv, on_bad_rows: skip}"), "on_bad_rows")
bad_recipe("output is a file", recipe().replace("{dir}/out", "{dir}/t.csv"), "t.csv")
bad_recipe("output holds the input", recipe().replace("{dir}/out", "{dir}"), "which this run reads")
bad_recipe("output is an empty name", recipe().replace("{dir}/out", '""'), "empty or the current folder")
bad_stage("unknown stage", "[clean, dedupe]", "did you mean 'dedup'")
bad_stage("unknown method", "[{dedup: {method: fuzzy}}]", "unknown method 'fuzzy'")
bad_stage("stage entry with two keys", "[{clean: {}, redact: {}}]", "one-key mapping")
bad_stage("parameters not a mapping", "[{clean: 3}]", "must be a mapping")
bad_stage("unknown parameter", "[{quality: {min_char: 3}}]", "did you mean 'min_chars'")
bad_stage("train eval typo", "[{train: {eval: {path: x.csv, txt: body}}}]", "train")
bad_stage("redact unknown kind", "[{redact: {kinds: [EMAILS]}}]", "kinds")
bad_stage("redact column that is not there", "[{redact: {columns: [text, customer_email]}}]", "customer_email")
bad_stage("gate suite missing", "[{gate: {suite: {dir}/missing.json}}]", "missing.json")
bad_stage("gate suite is a folder", "[{gate: {suite: {dir}}}]", "suite")
bad_stage("gate suite not JSON", "[{gate: {suite: {dir}/t.csv}}]", "t.csv")
bad_stage("train eval file missing", "[{train: {eval: {path: {dir}/missing.csv}}}]", "missing.csv")
bad_stage("review decisions not Parquet", "[{review: {decisions: {dir}/t.csv}}]", "decisions file")
for stage, param, value in [
    ("quality", "min_chars", "-1"),
    ("quality", "min_chars", ".nan"),
    ("quality", "max_ngram_repetition", "1.5"),
    ("quality", "max_ngram_repetition", "-0.1"),
    ("quality", "language_min_chars", "abc"),
    ("dedup", "threshold", "1.5"),
    ("dedup", "threshold", ".nan"),
    ("dedup", "num_perm", "0"),
    ("dedup", "ngram", "-3"),
    ("dedup", "candidate_threshold", "0"),
    ("dedup", "keep", "random"),
    ("dedup", "on_label_conflict", "ignore"),
    ("split", "validation", "1.5"),
    ("split", "test", "-0.1"),
    ("split", "validation", ".nan"),
    ("rebalance", "max_ratio", "0"),
    ("rebalance", "max_ratio", ".nan"),
    ("rebalance", "target", "everything"),
    ("augment", "per_row", "0"),
    ("augment", "min_similarity", "2"),
    ("augment", "methods", "[telepathy]"),
    ("labels", "min_class_size", "-1"),
    ("labels", "mislabelled", "burn"),
    ("bias", "max_p", "2"),
    ("train", "lr", "-1"),
    ("train", "epochs", "0"),
    ("train", "trainable_layers", "-5"),
]:
    method = ", method: minhash" if stage == "dedup" else ""
    bad_stage(f"{stage}.{param} = {value}", f"[{{{stage}: {{{param}: {value}{method}}}}}]", param)
bad_stage("split fractions leave nothing to train", "[{split: {validation: 0.7, test: 0.6}}]", "split")

# --- every row rejected early: the later stages get no rows, and say so instead of failing ---------------
EMPTY_AFTER_CLEAN = "id,text,label\n" + "".join(f"r{i},<p></p>,a\n" for i in range(6))
for later in [
    "bias",
    "labels",
    "split",
    "rebalance",
    "{dedup: {method: minhash}}",
    "{dedup: {method: exact}}",
    "quality",
    "{split: {}}, rebalance",
    "redact",
    "review",
]:
    files, argv = run_case({"t.csv": EMPTY_AFTER_CLEAN}, stages=f"[clean, {later}]")
    case(f"no rows left for {later}", files, argv, 0, "6 rejected")

# --- commands -------------------------------------------------------------------------------------
case("run: the recipe is a folder", {}, ["run", "{dir}"], 2, "")
case("run: recipe not found", {}, ["run", "{dir}/nope.yaml"], 2, "recipe file not found")
case("validate: suite is a folder", {"t.csv": GOOD_CSV}, ["validate", "{dir}/t.csv", "--suite", "{dir}"], 2, "")
case(
    "validate: data missing",
    {},
    ["validate", "{dir}/nope.csv", "--suite", str(ROOT / "expectations/tickets.json")],
    2,
    "nope.csv",
)
case(
    "validate: suite missing",
    {"t.csv": GOOD_CSV},
    ["validate", "{dir}/t.csv", "--suite", "{dir}/none.json"],
    2,
    "none.json",
)
case(
    "leakage: output folder missing",
    {"t.csv": GOOD_CSV},
    ["leakage", "{dir}/t.csv", "{dir}/t.csv", "--out", "{dir}/missing/x.csv"],
    3,
    "",
)
case("leakage: second file missing", {"t.csv": GOOD_CSV}, ["leakage", "{dir}/t.csv", "{dir}/nope.csv"], 2, "nope.csv")
case("export: not a run", {"t.csv": GOOD_CSV}, ["export", "{dir}", "--out", "{dir}/x.jsonl"], 2, "not a run directory")
case(
    "export: half-written run",
    {"run/report.json": "{}", "run/approved.parquet": b""},
    ["export", "{dir}/run", "--out", "{dir}/x.jsonl"],
    2,
    "incomplete run directory",
)
case(
    "export: unknown format",
    {"t.csv": GOOD_CSV},
    ["export", "{dir}/t.csv", "--out", "{dir}/x.xml"],
    2,
    "cannot tell the format",
)
case(
    "export: unknown split",
    {"t.csv": GOOD_CSV},
    ["export", "{dir}/t.csv", "--out", "{dir}/x.jsonl", "--split", "dev"],
    2,
    "unknown split",
)
case(
    "export: chat target missing",
    {"t.csv": "id,text\nr1,hello\n"},
    ["export", "{dir}/t.csv", "--out", "{dir}/x.jsonl", "--format", "openai", "--target", "response"],
    2,
    "response",
)
case(
    "export: --require-review on a file",
    {"t.csv": GOOD_CSV},
    ["export", "{dir}/t.csv", "--out", "{dir}/x.jsonl", "--require-review"],
    3,
    "not reviewed",
)
case(
    "train: eval file missing",
    {"t.csv": GOOD_CSV},
    ["train", "{dir}/t.csv", "--eval", "{dir}/nope.csv", "--max-steps", "1"],
    2,
    "nope.csv",
)
case("train: data missing", {}, ["train", "{dir}/nope.csv"], 2, "nope.csv")
case("review: not a run", {"t.csv": GOOD_CSV}, ["review", "{dir}"], 2, "not a run directory")
case("review: sign-off without a name", {"run/report.json": "{}"}, ["review", "{dir}/run", "--sign-off"], 2, "")
case("explore: not a run", {}, ["explore", "{dir}"], 2, "not a run directory")
case(
    "expectations init: data missing",
    {},
    ["expectations", "init", "{dir}/nope.csv", "--out", "{dir}/s.json"],
    2,
    "nope.csv",
)
case(
    "compare: eval missing",
    {"t.csv": GOOD_CSV, "r.yaml": recipe()},
    ["compare", "{dir}/r.yaml", "--eval", "{dir}/nope.csv"],
    2,
    "nope.csv",
)
case(
    "compare: no label",
    {"t.csv": "id,text\nr1,hi\n", "r.yaml": recipe(input_="{path: {dir}/t.csv}")},
    ["compare", "{dir}/r.yaml", "--eval", "{dir}/t.csv"],
    2,
    "label",
)


# --- issue 26: reserved names, parameters and paths, values that are not strings ---------------------------------
FIFO, LOOP = "<a FIFO>", "<a symlink to itself>"  # materialised as a named pipe and as a link that points at itself
ISSUE_26_FAMILIES = ("reserved:", "recipe: parameter:", "parameter:", "recipe: path:", "path:", "input: not a string:")


def frame_as(fmt: str, frame: pl.DataFrame) -> str | bytes:
    if fmt == "csv":
        return frame.write_csv()
    if fmt == "jsonl":
        return frame.write_ndjson()
    return parquet_bytes(frame)


# Reserved names: an input column named like one curate writes is renamed `input_<name>` and the run says so (its
# values are never read as curate's; tests/io/test_readers.py checks the values); the same name mapped as a role
# (`text: reason`) is the row's own text and runs.
RESERVED = [
    "similarity",
    "review_keep",
    "augmented_from",
    "stage",
    "reason",
    "duplicate_of",
    "text_before_clean",
    "cluster",
    "pii",
    "quality_flags",
    "label_issue",
    "split",
    "detail",
    "sample_weight",
    "identity_terms",
]
for fmt in ("csv", "jsonl", "parquet"):
    for column in RESERVED:
        rows = pl.DataFrame(
            {"id": ["r1", "r2"], "text": ["hello there", "please help"], "label": ["a", "b"], column: ["1", "0"]}
        )
        files, argv = run_case(
            {f"t.{fmt}": frame_as(fmt, rows)},
            stages="[clean, {dedup: {method: exact}}]",
            input_=f"{{path: {{dir}}/t.{fmt}, label: label}}",
        )
        case(f"reserved: {column} ({fmt})", files, argv, 0, f"`{column}` → `input_{column}`")
    rows = pl.DataFrame({"id": ["r1", "r2"], "reason": ["hello there", "please help"], "label": ["a", "b"]})
    files, argv = run_case(
        {f"t.{fmt}": frame_as(fmt, rows)}, input_=f"{{path: {{dir}}/t.{fmt}, text: reason, label: label}}"
    )
    case(f"reserved: mapped as the text ({fmt})", files, argv, 0, "every row accounted for")

GOOD_LINE = '{"id": "r0", "text": "hello there", "label": "a", "response": "hi"}\n'

# Parameters: every value is checked, by type and range, before anything runs, and the message names the key.
for extra, says in [
    ("seed: -1", "(seed)"),
    ("seed: true", "(seed)"),
    ("seed: 1.5", "(seed)"),
    ("seed: abc", "(seed)"),
    ("seed: 4294967296", "(seed)"),
    ("seed: [1]", "(seed)"),
    ("engine: {name: local, block_rows: abc}", "engine.block_rows"),
    ("engine: {name: local, block_rows: 0}", "engine.block_rows"),
    ("engine: {name: local, block_rows: -5}", "engine.block_rows"),
    ("engine: {name: local, block_rows: true}", "engine.block_rows"),
    ("engine: {name: local, workers: 3}", "unknown parameter 'workers'"),
    ("engine: spark", "(engine)"),
    ("engine: [local]", "(engine)"),
    ("engine: {name: [ray]}", "engine.name"),
    ("rejected_text: [raw]", "rejected_text"),
]:
    bad_recipe(f"parameter: {extra}", recipe(extra=extra), says)
for output, says in [
    ("[a, b]", "must be a folder path"),
    ("{dir: runs}", "must be a folder path"),
    ("~", "`output` is empty"),
    ("5", "must be a folder path"),
    ("null", "`output` is empty"),
]:
    bad_recipe(f"parameter: output: {output}", recipe().replace("output: {dir}/out", f"output: {output}"), says)
for input_, says in [
    ("{path: {dir}/t.csv, text: text, label: text}", "the text and the label are both column 'text'"),
    ("{path: {dir}/t.csv, id: text}", "the text and the id are both column 'text'"),
    ("{path: {dir}/t.csv, label: id, id: id}", "the label and the id are both column 'id'"),
    ("{path: {dir}/t.csv, text: [text]}", "input.text"),
    ("{path: {dir}/t.csv, label: {name: label}}", "input.label"),
    ("{path: [a, b]}", "input.path"),
    ("{path: {dir}/t.csv, on_bad_rows: false}", "input.on_bad_rows"),
    ("{path: {dir}/t.csv, encoding: 8}", "input.encoding"),
]:
    bad_recipe(f"parameter: input {input_}", recipe(input_=input_), says)
for stages, says in [
    ("[{dedup: {method: [exact]}}]", "method must be a name"),
    ("[{dedup: {method: {exact: 1}}}]", "method must be a name"),
    ("[{[clean]: {}}]", "a key must be a name"),
    ("[{dedup: {method: minhash, ngram: 100000}}]", "ngram"),
    ("[{dedup: {method: minhash, num_perm: true}}]", "num_perm"),
    ("[{quality: {min_chars: yes}}]", "min_chars"),
    ("[{split: {seed: -1}}]", "split).seed"),
    ("[{split: {seed: true}}]", "expected an integer, not the boolean true"),
    ("[{rebalance: {seed: -3}}]", "rebalance).seed"),
    ("[{labels: {mislabelled: on}}]", "quote the word"),
    ("[{dedup: {method: minhash, seed: -1}}]", "seed"),
]:
    bad_stage(f"parameter: {stages}", stages, says)
for text, says in [
    ("a: &a [*a]\n", "recursive alias"),
    ("a: &a {b: *a}\n", "recursive alias"),
    ("base: &b {path: {dir}/t.csv}\ninput: {<<: *b, label: label}\nstages: [clean]\noutput: {dir}/out\n", "merge key"),
    ("input: {path: {dir}/t.csv}\nstages: [clean]\noutput: {dir}/out\n<<: {seed: 1}\n", "merge key"),
    ("? [input]\n: {path: {dir}/t.csv}\nstages: [clean]\noutput: {dir}/out\n", "a key must be a name"),
]:
    bad_recipe(f"parameter: YAML {text[:30]!r}", text.replace("\\n", "\n"), says)
for depth in (900, 100_000):  # nested deeper than Python recurses
    bad_recipe(
        f"parameter: YAML nested {depth:,} deep",
        recipe(extra="description: " + "[" * depth + "]" * depth + "\n"),
        "nested too deep",
    )
    bad_input(
        f"not a string: JSONL nested {depth:,} deep",
        GOOD_LINE + '{"id": "r1", "text": ' + "[" * depth + "]" * depth + "}\n",
        "t.jsonl:2",
        filename="t.jsonl",
    )
TRAIN_FILES = {"t.csv": GOOD_CSV}
for option, value in [
    ("--batch-size", "0"),
    ("--batch-size", "-2"),
    ("--lr", "-1"),
    ("--lr", "0"),
    ("--lr", "nan"),
    ("--epochs", "0"),
    ("--max-steps", "0"),
    ("--seed", "-1"),
    ("--trainable-layers", "-5"),
]:
    case(
        f"parameter: train {option} {value}",
        TRAIN_FILES,
        ["train", "{dir}/t.csv", option, value, "--out", "{dir}/model"],
        2,
        option,
    )
    case(
        f"parameter: compare {option} {value}",
        {**TRAIN_FILES, "r.yaml": recipe()},
        ["compare", "{dir}/r.yaml", "--eval", "{dir}/t.csv", option, value, "--out", "{dir}/cmp"],
        2,
        option,
    )
for value in ("5", "0", "-0.5", "nan"):
    case(
        f"parameter: leakage --threshold {value}",
        TRAIN_FILES,
        ["leakage", "{dir}/t.csv", "{dir}/t.csv", "--threshold", value],
        2,
        "--threshold",
    )

# Paths that can never be written, for every command that writes: refused before anything runs, naming the path.
IMPOSSIBLE = [
    ("a folder under a file", "{dir}/t.csv/sub/x", "t.csv is a file"),
    ("a NUL", "{dir}/a\x00b/x", "NUL"),
    ("a 300-character name", "{dir}/" + "n" * 300 + "/x", "at most 255"),
    ("under /proc", "/proc/curate-test/x", "/proc"),
    ("under /sys", "/sys/curate-test/x", "/sys"),
]
for what, target, says in IMPOSSIBLE:
    quoted = json.dumps(target)
    bad_recipe(f"path: run output {what}", recipe().replace("output: {dir}/out", f"output: {quoted}"), says)
    says = (
        "null byte" if what == "a NUL" else says
    )  # on the command line, click refuses it: exit 2 with its usage error
    case(
        f"path: run --out {what}",
        {"t.csv": GOOD_CSV, "r.yaml": recipe()},
        ["run", "{dir}/r.yaml", "--out", target],
        2,
        says,
    )
    case(
        f"path: export --out {what}",
        {"t.csv": GOOD_CSV},
        ["export", "{dir}/t.csv", "--out", target + ".jsonl"],
        2,
        says,
    )
    case(
        f"path: leakage --out {what}",
        {"t.csv": GOOD_CSV},
        ["leakage", "{dir}/t.csv", "{dir}/t.csv", "--out", target + ".csv"],
        2,
        says,
    )
    case(
        f"path: expectations init --out {what}",
        {"t.csv": GOOD_CSV},
        ["expectations", "init", "{dir}/t.csv", "--out", target + ".json"],
        2,
        says,
    )
    case(
        f"path: validate --out {what}",
        {"t.csv": GOOD_CSV},
        ["validate", "{dir}/t.csv", "--out", target + ".json"],
        2,
        says,
    )
    case(f"path: train --out {what}", {"t.csv": GOOD_CSV}, ["train", "{dir}/t.csv", "--out", target], 2, says)

# Inputs that are no regular file: refused before they are opened (a FIFO would block, /dev/zero never ends).
for what, files, source, says in [
    ("a FIFO", {"in.csv": FIFO}, "{dir}/in.csv", "FIFO"),
    ("/dev/zero", {}, "/dev/zero", "device"),
    ("a symlink loop", {"in.csv": LOOP}, "{dir}/in.csv", "symlink loop"),
]:
    for command, argv in [
        ("run", ["run", "{dir}/r.yaml"]),
        ("export", ["export", source, "--out", "{dir}/x.jsonl"]),
        ("leakage", ["leakage", "{dir}/t.csv", source]),
        ("validate", ["validate", source]),
        ("expectations init", ["expectations", "init", source, "--out", "{dir}/s.json"]),
        ("train", ["train", source, "--out", "{dir}/model"]),
    ]:
        name = f"path: {command} reads {what}"
        case(
            name,
            {"t.csv": GOOD_CSV, **files, "r.yaml": recipe(input_=f"{{path: {source}, format: csv}}")},
            argv,
            2,
            says,
        )
    for stage in ("{gate: {suite: %s}}", "{review: {decisions: %s}}", "{train: {eval: {path: %s, format: csv}}}"):
        if not (
            what == "a symlink loop" and "review" in stage
        ):  # a decisions file that cannot be found is no review yet
            bad_stage(
                f"path: {stage.split(':')[0][1:]} reads {what}",
                f"[clean, {stage % source}]",
                source.replace("{dir}/", ""),
                files=files,
            )
for what, files, says in [
    ("a FIFO", {"r.yaml": FIFO}, "not a regular file"),
    ("a symlink loop", {"r.yaml": LOOP}, "r.yaml"),
]:
    case(f"path: the recipe is {what}", files, ["run", "{dir}/r.yaml"], 2, says)

# Values that are not strings: an error naming the line and the key, or (on_bad_rows: reject) a rejected row.
for key, raw, what in [
    ("text", "12345", "a number"),
    ("text", '{"body": "help me"}', "an object"),
    ("text", "true", "a boolean"),
    ("text", "NaN", "NaN"),
    ("text", "1.5e3", "a number"),
    ("label", "NaN", "NaN"),
    ("label", "3", "a number"),
    ("label", '["a"]', "a list"),
    ("response", "42", "a number"),
    ("response", "{}", "an object"),
]:
    values = {"id": '"r1"', "text": '"please help"', "label": '"b"', "response": '"sure"', key: raw}
    line = "{" + ", ".join(f'"{k}": {v}' for k, v in values.items()) + "}\n"
    content = GOOD_LINE + line + GOOD_LINE.replace("r0", "r2")
    bad_input(
        f"not a string: {key} is {raw}",
        content,
        f"t.jsonl:2: '{key}' holds {what}",
        filename="t.jsonl",
        input_="{path: {dir}/t.jsonl, response: response}",
    )
    bad_input(
        f"not a string: {key} is {raw}, rejected",
        content,
        "1 rejected",
        filename="t.jsonl",
        code=0,
        input_="{path: {dir}/t.jsonl, response: response, on_bad_rows: reject}",
    )
bad_input(
    "not a string: mapped text key is a number",
    '{"body": 5, "label": "a"}\n',
    "t.jsonl:1: 'body' holds a number",
    filename="t.jsonl",
    input_="{path: {dir}/t.jsonl, text: body}",
)
bad_input(
    "not a string: the key inside a text is no value",
    '{"text": "the \\"label\\": 5 field", "label": "a"}\n',
    "every row accounted for",
    filename="t.jsonl",
    input_="{path: {dir}/t.jsonl}",
    code=0,
)
bad_input(
    "not a string: digits in a CSV are text", "id,text,label\nr1,12345,a\nr2,NaN,b\n", "every row accounted for", code=0
)
bad_input(
    "not a string: Parquet NaN label",
    parquet_bytes(pl.DataFrame({"id": ["1"], "text": ["a"], "label": [float("nan")]})),
    "label",
    filename="t.parquet",
)


def materialise(folder: Path, files: dict, argv: list[str]) -> list[str]:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if content == FIFO:
            os.mkfifo(path)
        elif content == LOOP:
            path.symlink_to(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content.replace("{dir}", str(folder)), encoding="utf-8")
    return [a.replace("{dir}", str(folder)) for a in argv]


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 100


@pytest.mark.timeout(60)  # a FIFO or a device that is read instead of refused blocks: fail, do not hang
@pytest.mark.parametrize("name, files, argv, code, says", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_a_clear_answer(tmp_path, tmp_path_factory, monkeypatch, name, files, argv, code, says):
    args = materialise(tmp_path, files, argv)
    cwd = tmp_path_factory.mktemp(
        "cwd"
    )  # a path taken literally (`output: [a, b]` as a folder "['a', 'b']") would appear here
    monkeypatch.chdir(cwd)
    written = {p.name for p in tmp_path.iterdir()}
    result = CliRunner().invoke(app, args)
    output = result.output
    assert "Traceback" not in output and not (result.exception and not isinstance(result.exception, SystemExit)), (
        f"{name}: {type(result.exception).__name__}: {result.exception}\n{output[-1500:]}"
    )
    assert result.exit_code == code, f"{name}: exit {result.exit_code}\n{output[-1500:]}"
    assert says.replace("{dir}", str(tmp_path)) in output, f"{name}: expected {says!r} in\n{output[-1500:]}"
    if code == 2 and name.startswith(
        ISSUE_26_FAMILIES
    ):  # refused before anything ran: nothing written, under an odd name or any other
        new = sorted({p.name for p in tmp_path.iterdir()} - written) + [p.name for p in cwd.iterdir()]
        assert not new, f"{name}: wrote {new}"
    if code == 0 and (tmp_path / "out" / "report.json").exists():  # a run that succeeded accounts for every record
        report = json.loads((tmp_path / "out" / "report.json").read_text())
        assert report["totals"]["conservation"] == "ok"
