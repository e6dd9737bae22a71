"""A corpus of bad inputs, recipes and command lines, each run through the real CLI: no traceback ever
reaches the user, the exit code is the documented one (2: a bad recipe or input; 3: a check failed),
and the message names the file and line, or the recipe key. Rows are never lost silently: where a run
succeeds, every record is approved or rejected.

Each case is (name, files to write, command line, expected exit code, text the output must contain).
`{dir}` in a file's content or the command stands for the case's folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from curate.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
GOOD_CSV = "id,text,label\n" + "".join(f"r{i},please help me with order number {i} today,{'a' if i % 2 else 'b'}\n" for i in range(40))


def recipe(stages: str = "[clean]", input_: str = "{path: {dir}/t.csv, label: label}", extra: str = "") -> str:
    return f"input: {input_}\nstages: {stages}\noutput: {{dir}}/out\n{extra}"


def run_case(files: dict[str, str | bytes], stages: str = "[clean]", input_: str = "{path: {dir}/t.csv, label: label}", extra: str = ""):
    return {"t.csv": GOOD_CSV, **files, "r.yaml": recipe(stages, input_, extra)}, ["run", "{dir}/r.yaml"]


CASES: list[tuple[str, dict, list[str], int, str]] = []


def case(name: str, files: dict, argv: list[str], code: int, says: str) -> None:
    CASES.append((name, files, argv, code, says))


# --- input files -----------------------------------------------------------------------------------
def bad_input(name: str, content: str | bytes, says: str, filename: str = "t.csv", input_: str | None = None, code: int = 2) -> None:
    files, argv = run_case({filename: content}, input_=input_ or f"{{path: {{dir}}/{filename}, label: label}}")
    case(f"input: {name}", files, argv, code, says)


bad_input("empty file", "", "the file is empty")
bad_input("whitespace only", "  \n\n ", "the file is empty")
bad_input("header only", "id,text,label\n", "header but no rows")
bad_input("unclosed quote on line 3", 'id,text,label\nr1,fine,a\nr2,"broken,a\n' + "".join(f"r{i},ok {i},b\n" for i in range(3, 200)), "t.csv:3")
bad_input("extra field on line 4", "id,text,label\nr1,a,a\nr2,b,a\nr3,c,a,d\n", "t.csv:4")
bad_input("missing field on line 2", "id,text,label\nr1,a\n", "t.csv:2")
bad_input("no text column", "id,body,label\nr1,hello,a\n", "text")
bad_input("label column named but absent", "id,text\nr1,hello\n", "label")
bad_input("duplicate header names", "id,text,text,label\nr1,a,b,c\n", "t.csv")
bad_input("binary garbage", bytes(range(256)) * 4, "t.csv")
bad_input("latin-1 bytes read as utf-8", "id,text,label\nr1,caf\xe9 cr\xe8me,a\n".encode("latin-1"), "t.csv")
bad_input("NUL bytes", b"id,text,label\nr1,a\x00b,a\n", "accounted for", code=0)
bad_input("broken JSONL line 2", '{"id": "1", "text": "a", "label": "x"}\n{"id": 2, "text": \n', "t.jsonl:2", filename="t.jsonl")
bad_input("JSONL line that is not an object", '{"id": "1", "text": "a", "label": "x"}\n42\n', "t.jsonl:2", filename="t.jsonl")
bad_input("JSONL list in the text", '{"id": "1", "text": ["a", "b"], "label": "x"}\n', "text", filename="t.jsonl")
bad_input("JSONL object as the label", '{"id": "1", "text": "a", "label": {"name": "x"}}\n', "label", filename="t.jsonl")
bad_input("JSONL without the text key", '{"id": "1", "body": "a", "label": "x"}\n', "text", filename="t.jsonl")
bad_input("corrupt Parquet", b"PAR1 this is not parquet PAR1", "t.parquet", filename="t.parquet")
bad_input("OpenAI chat without messages", '{"conversation": []}\n', "t.jsonl", filename="t.jsonl",
          input_="{path: {dir}/t.jsonl, format: openai}")
bad_input("OpenAI chat without a user turn", '{"messages": [{"role": "system", "content": "x"}]}\n', "1 rejected", filename="t.jsonl",
          input_="{path: {dir}/t.jsonl, format: openai}", code=0)
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


bad_input("Parquet list in the text", parquet_bytes(pl.DataFrame({"id": ["1"], "text": [["a", "b"]], "label": ["x"]})), "text",
          filename="t.parquet")
bad_input("Parquet struct as the label", parquet_bytes(pl.DataFrame({"id": ["1"], "text": ["a"], "label": [{"n": "x"}]})), "label",
          filename="t.parquet")
bad_input("Parquet integer text", parquet_bytes(pl.DataFrame({"id": ["1"], "text": [5], "label": ["x"]})), "text", filename="t.parquet")
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
bad_recipe("duplicate key", "input: {path: {dir}/t.csv}\nstages: [clean]\nstages: [redact]\noutput: {dir}/out\n", "appears twice")
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
    ("quality", "min_chars", "-1"), ("quality", "min_chars", ".nan"), ("quality", "max_ngram_repetition", "1.5"),
    ("quality", "max_ngram_repetition", "-0.1"), ("quality", "language_min_chars", "abc"),
    ("dedup", "threshold", "1.5"), ("dedup", "threshold", ".nan"), ("dedup", "num_perm", "0"), ("dedup", "ngram", "-3"),
    ("dedup", "candidate_threshold", "0"), ("dedup", "keep", "random"), ("dedup", "on_label_conflict", "ignore"),
    ("split", "validation", "1.5"), ("split", "test", "-0.1"), ("split", "validation", ".nan"),
    ("rebalance", "max_ratio", "0"), ("rebalance", "max_ratio", ".nan"), ("rebalance", "target", "everything"),
    ("augment", "per_row", "0"), ("augment", "min_similarity", "2"), ("augment", "methods", "[telepathy]"),
    ("labels", "min_class_size", "-1"), ("labels", "mislabelled", "burn"), ("bias", "max_p", "2"),
    ("train", "lr", "-1"), ("train", "epochs", "0"), ("train", "trainable_layers", "-5"),
]:
    method = ", method: minhash" if stage == "dedup" else ""
    bad_stage(f"{stage}.{param} = {value}", f"[{{{stage}: {{{param}: {value}{method}}}}}]", param)
bad_stage("split fractions leave nothing to train", "[{split: {validation: 0.7, test: 0.6}}]", "split")

# --- every row rejected early: the later stages get no rows, and say so instead of failing ---------------
EMPTY_AFTER_CLEAN = "id,text,label\n" + "".join(f"r{i},<p></p>,a\n" for i in range(6))
for later in ["bias", "labels", "split", "rebalance", "{dedup: {method: minhash}}", "{dedup: {method: exact}}", "quality",
              "{split: {}}, rebalance", "redact", "review"]:
    files, argv = run_case({"t.csv": EMPTY_AFTER_CLEAN}, stages=f"[clean, {later}]")
    case(f"no rows left for {later}", files, argv, 0, "6 rejected")

# --- commands -------------------------------------------------------------------------------------
case("run: the recipe is a folder", {}, ["run", "{dir}"], 2, "")
case("run: recipe not found", {}, ["run", "{dir}/nope.yaml"], 2, "recipe file not found")
case("validate: suite is a folder", {"t.csv": GOOD_CSV}, ["validate", "{dir}/t.csv", "--suite", "{dir}"], 2, "")
case("validate: data missing", {}, ["validate", "{dir}/nope.csv", "--suite", str(ROOT / "expectations/tickets.json")], 2, "nope.csv")
case("validate: suite missing", {"t.csv": GOOD_CSV}, ["validate", "{dir}/t.csv", "--suite", "{dir}/none.json"], 2, "none.json")
case("leakage: output folder missing", {"t.csv": GOOD_CSV}, ["leakage", "{dir}/t.csv", "{dir}/t.csv", "--out", "{dir}/missing/x.csv"], 3, "")
case("leakage: second file missing", {"t.csv": GOOD_CSV}, ["leakage", "{dir}/t.csv", "{dir}/nope.csv"], 2, "nope.csv")
case("export: not a run", {"t.csv": GOOD_CSV}, ["export", "{dir}", "--out", "{dir}/x.jsonl"], 2, "not a run directory")
case("export: half-written run", {"run/report.json": "{}", "run/approved.parquet": b""}, ["export", "{dir}/run", "--out", "{dir}/x.jsonl"],
     2, "incomplete run directory")
case("export: unknown format", {"t.csv": GOOD_CSV}, ["export", "{dir}/t.csv", "--out", "{dir}/x.xml"], 2, "cannot tell the format")
case("export: unknown split", {"t.csv": GOOD_CSV}, ["export", "{dir}/t.csv", "--out", "{dir}/x.jsonl", "--split", "dev"], 2, "unknown split")
case("export: chat target missing", {"t.csv": "id,text\nr1,hello\n"}, ["export", "{dir}/t.csv", "--out", "{dir}/x.jsonl", "--format", "openai",
                                                                          "--target", "response"], 2, "response")
case("export: --require-review on a file", {"t.csv": GOOD_CSV}, ["export", "{dir}/t.csv", "--out", "{dir}/x.jsonl", "--require-review"], 3, "not reviewed")
case("train: eval file missing", {"t.csv": GOOD_CSV}, ["train", "{dir}/t.csv", "--eval", "{dir}/nope.csv", "--max-steps", "1"], 2, "nope.csv")
case("train: data missing", {}, ["train", "{dir}/nope.csv"], 2, "nope.csv")
case("review: not a run", {"t.csv": GOOD_CSV}, ["review", "{dir}"], 2, "not a run directory")
case("review: sign-off without a name", {"run/report.json": "{}"}, ["review", "{dir}/run", "--sign-off"], 2, "")
case("explore: not a run", {}, ["explore", "{dir}"], 2, "not a run directory")
case("expectations init: data missing", {}, ["expectations", "init", "{dir}/nope.csv", "--out", "{dir}/s.json"], 2, "nope.csv")
case("compare: eval missing", {"t.csv": GOOD_CSV, "r.yaml": recipe()}, ["compare", "{dir}/r.yaml", "--eval", "{dir}/nope.csv"], 2, "nope.csv")
case("compare: no label", {"t.csv": "id,text\nr1,hi\n", "r.yaml": recipe(input_="{path: {dir}/t.csv}")},
     ["compare", "{dir}/r.yaml", "--eval", "{dir}/t.csv"], 2, "label")


def materialise(folder: Path, files: dict, argv: list[str]) -> list[str]:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content.replace("{dir}", str(folder)), encoding="utf-8")
    return [a.replace("{dir}", str(folder)) for a in argv]


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 100


@pytest.mark.parametrize("name, files, argv, code, says", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_a_clear_answer(tmp_path, name, files, argv, code, says):
    args = materialise(tmp_path, files, argv)
    result = CliRunner().invoke(app, args)
    output = result.output
    assert "Traceback" not in output and not (result.exception and not isinstance(result.exception, SystemExit)), (
        f"{name}: {type(result.exception).__name__}: {result.exception}\n{output[-1500:]}")
    assert result.exit_code == code, f"{name}: exit {result.exit_code}\n{output[-1500:]}"
    assert says.replace("{dir}", str(tmp_path)) in output, f"{name}: expected {says!r} in\n{output[-1500:]}"
    if code == 0 and (tmp_path / "out" / "report.json").exists():  # a run that succeeded accounts for every record
        report = json.loads((tmp_path / "out" / "report.json").read_text())
        assert report["totals"]["conservation"] == "ok"
