"""Conversations survive curation turn for turn: OpenAI chat JSONL read, run through recipes/conversations.yaml and
exported as OpenAI chat JSONL gives back every approved conversation as it came in (redaction's placeholders
excepted, and named in `pii_turns`); rejected ones are listed with the stage and a reason naming the message."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import curate
from curate.cli.main import app
from curate.core import messages as chat
from curate.samples.scale_tickets import BITEXT

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "recipes" / "conversations.yaml"
SHARED = BITEXT.parents[1]  # ../shared/data
PLACEHOLDER = re.compile(r"\[[A-Z_]+(?:_\d+)?\]")

SYSTEM = {"role": "system", "content": "You are the support assistant of a bicycle shop."}
MULTI_TURN = [
    SYSTEM,
    {"role": "user", "content": "My order has not arrived yet, it was due on Monday."},
    {"role": "assistant", "content": "Sorry for the wait. Could you tell me the order number, please?"},
    {"role": "user", "content": "It is order 5521, placed last week for a red city bike."},
    {"role": "assistant", "content": "Thank you. The courier has it and will deliver it tomorrow before noon."},
]
TOOLS = [
    {"role": "user", "content": "Where is my parcel with the new brake pads?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "track", "arguments": '{"order": "5522"}'}}
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "name": "track", "content": '{"status": "out for delivery"}'},
    {"role": "assistant", "content": "Your brake pads are out for delivery and arrive today.", "weight": 1},
]
AGENT_PII = [
    {"role": "user", "content": "Can I send the broken saddle back to you for a refund?"},
    {"role": "assistant", "content": "Yes, write to jane.doe@example.com with a photo and we refund you in a week."},
]
CUT_MID_THREAD = [
    {"role": "user", "content": "How do I adjust the gears on the bike I bought from you?"},
    {"role": "assistant", "content": "Turn the barrel adjuster on the rear derailleur and"},
    {"role": "user", "content": "and then what should I do next?"},
    {"role": "assistant", "content": "Then shift through every gear to check that the chain runs quietly."},
]
SAME_OPENING = [
    MULTI_TURN[1],
    {"role": "assistant", "content": "It left our warehouse on Friday, so it should reach you in two days."},
]
PARTS = [
    {"role": "user", "content": [{"type": "text", "text": "Is this helmet in stock in size large?"}]},
    {"role": "assistant", "content": [{"type": "text", "text": "Yes, we have four large helmets in stock today."}]},
]


def write_chat(path: Path, conversations: dict[str, list[dict]]) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for key, messages in conversations.items():
            handle.write(json.dumps({"id": key, "messages": messages}) + "\n")
    return path


def run_and_export(source: Path, out: Path) -> tuple[curate.Run, list[dict]]:
    runner = CliRunner()
    result = runner.invoke(app, ["run", str(RECIPE), "--input", str(source), "--out", str(out / "run")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["export", str(out / "run"), "--out", str(out / "chat.jsonl"), "--format", "openai"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (out / "chat.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [chat.format_errors(record) for record in records] == [[]] * len(records)  # the cookbook's format checks
    return curate.load_run(out / "run"), records


def test_a_multi_turn_file_survives_run_and_export_turn_for_turn(tmp_path):
    given = {
        "multi": MULTI_TURN,
        "tools": TOOLS,
        "agent_pii": AGENT_PII,
        "cut": CUT_MID_THREAD,
        "copy": MULTI_TURN,
        "opening": SAME_OPENING,
        "parts": PARTS,
        "no_user": [{"role": "assistant", "content": "Hello, write to me at jane.doe@example.com."}],
    }
    run, exported = run_and_export(write_chat(tmp_path / "chat.jsonl", given), tmp_path)
    by_id = dict(zip(run.approved["id"].to_list(), exported, strict=True))
    assert set(by_id) == {"multi", "tools", "agent_pii", "opening", "parts"}
    for key in ("multi", "tools", "opening", "parts"):  # system prompt, tool calls, extra keys, parts: as they came
        assert by_id[key] == {"messages": given[key]}
    redacted = by_id["agent_pii"]["messages"]
    assert redacted[0] == AGENT_PII[0]
    assert redacted[1]["content"] == "Yes, write to [EMAIL] with a photo and we refund you in a week."
    pii_turns = dict(zip(run.approved["id"].to_list(), run.approved["pii_turns"].to_list(), strict=True))
    assert pii_turns["agent_pii"] == "message 2 (assistant): EMAIL"
    rejected = {row["id"]: row for row in run.rejected.iter_rows(named=True)}
    assert (rejected["cut"]["stage"], rejected["cut"]["reason"]) == ("responses", "cut_off")
    assert rejected["cut"]["detail"].startswith("message 2 (assistant): ends mid-sentence")
    assert (rejected["copy"]["stage"], rejected["copy"]["reason"]) == ("dedup:exact", "exact_duplicate")
    assert (rejected["no_user"]["stage"], rejected["no_user"]["reason"]) == ("ingest", "empty_text")
    assert "[EMAIL]" in rejected["no_user"]["messages"] and "jane.doe" not in rejected["no_user"]["messages"]


def same_but_placeholders(exported: str, given: str) -> bool:
    """The exported content is the given one with some spans replaced by redaction's placeholders."""
    pieces = PLACEHOLDER.split(exported)
    pattern = ".+?".join(re.escape(piece) for piece in pieces)
    return re.fullmatch(pattern, given, flags=re.DOTALL) is not None


@pytest.mark.parametrize(
    ("name", "file"), [("twitter_customer_care", "dev.jsonl"), ("ubuntu_irc_support", "train.jsonl")]
)
def test_real_conversations_round_trip(tmp_path, name, file):
    """200 real conversations: every approved one comes back turn for turn; a changed message is one redact named."""
    source = SHARED / name / file
    if not source.exists():
        pytest.skip(f"the shared data set {name} is not on this machine")
    given = {}
    with (tmp_path / "sample.jsonl").open("w", encoding="utf-8") as handle:
        for line in source.read_text(encoding="utf-8").splitlines()[:200]:
            record = json.loads(line)
            record["source_split"] = record.pop("split")  # `split` is a column curate writes itself
            if "company" in record:
                record["label"] = record.pop("company")
            given[record["id"]] = record["messages"]
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    run, exported = run_and_export(tmp_path / "sample.jsonl", tmp_path)
    assert run.approved.height + run.rejected.height == 200
    assert run.rejected.height <= 20  # real answers: few dropped (read in the README's conversations section)
    assert run.rejected["stage"].null_count() == 0 and run.rejected["reason"].null_count() == 0
    changed = 0
    for key, turns, record in zip(run.approved["id"], run.approved["pii_turns"], exported, strict=True):
        messages = record["messages"]
        assert [m["role"] for m in messages] == [m["role"] for m in given[key]]
        named = {int(n) for n in re.findall(r"message (\d+)", turns or "")}
        for number, (out, came) in enumerate(zip(messages, given[key], strict=True), start=1):
            if number in named:
                assert same_but_placeholders(out["content"], came["content"]), (key, number)
                changed += out != came
            else:
                assert out == came, (key, number)
    assert changed == run.approved["pii_turns"].drop_nulls().str.count_matches("message").sum()


def test_splits_and_hf_exports_carry_the_messages_a_chat_template_reads(tmp_path):
    run_and_export(write_chat(tmp_path / "chat.jsonl", {"multi": MULTI_TURN, "parts": PARTS}), tmp_path)
    runner = CliRunner()
    result = runner.invoke(
        app, ["export", str(tmp_path / "run"), "--out", str(tmp_path / "splits"), "--format", "splits"]
    )
    assert result.exit_code == 0, result.output
    train = pl.read_parquet(tmp_path / "splits" / "train.parquet")
    assert train["messages"].to_list() == [
        [{"role": m["role"], "content": m["content"]} for m in MULTI_TURN],
        [
            {"role": "user", "content": PARTS[0]["content"][0]["text"]},
            {"role": "assistant", "content": PARTS[1]["content"][0]["text"]},
        ],
    ]
    datasets = pytest.importorskip("datasets")
    result = runner.invoke(app, ["export", str(tmp_path / "run"), "--out", str(tmp_path / "hf"), "--format", "hf"])
    assert result.exit_code == 0, result.output
    assert datasets.load_from_disk(str(tmp_path / "hf"))["train"][0]["messages"] == train["messages"][0].to_list()


def test_a_streamed_run_of_conversations_is_the_same_run(tmp_path):
    """Per-turn checks (with the set's totals), conversation dedup and redaction, block by block: the same rows."""
    import yaml

    from tests.pipeline.test_streaming import assert_same_run, in_memory_and_streamed

    source = SHARED / "ubuntu_irc_support" / "train.jsonl"
    if not source.exists():
        pytest.skip("the shared data set ubuntu_irc_support is not on this machine")
    lines = source.read_text(encoding="utf-8").splitlines()[:300]
    records = [json.loads(line) for line in lines]
    again = [{**record, "id": record["id"] + "-again"} for record in records[:20]]  # sent twice, in later blocks
    with (tmp_path / "threads.jsonl").open("w", encoding="utf-8") as handle:
        for record in records + again:
            record = {**record, "source_split": record["split"]}
            del record["split"]
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    recipe = yaml.safe_load(RECIPE.read_text())
    recipe["input"] = {"path": str(tmp_path / "threads.jsonl")}
    recipe["stages"] = [s for s in recipe["stages"] if not (isinstance(s, dict) and "tokens" in s)]
    memory, streamed = in_memory_and_streamed(recipe, tmp_path, block_rows=100)
    assert streamed[1]["placement"]["responses"] == "streamed: blocks with totals"
    assert memory[0].rejected.filter(pl.col("reason") == "exact_duplicate").height >= 20
    assert_same_run(memory, streamed)


def test_a_hugging_face_messages_column_is_read_as_conversations(tmp_path):
    rows = pl.DataFrame({"id": ["multi", "parts"], "messages": [MULTI_TURN, [SYSTEM, *AGENT_PII]]})
    rows.write_parquet(tmp_path / "chat.parquet")
    run, exported = run_and_export(tmp_path / "chat.parquet", tmp_path)
    assert dict(zip(run.approved["id"], exported, strict=True))["multi"] == {"messages": MULTI_TURN}
    assert run.approved["text"][0] == "\n\n".join(m["content"] for m in MULTI_TURN if m["role"] == "user")


def test_a_messages_column_that_holds_no_conversation_is_refused(tmp_path):
    from curate.core.errors import InputError
    from curate.io.readers import read_input
    from curate.io.spec import InputSpec

    (tmp_path / "t.csv").write_text("text,messages\nwhere is my order,see the thread\n", encoding="utf-8")
    with pytest.raises(InputError, match="not a list of"):
        read_input(InputSpec(path=tmp_path / "t.csv"))


def test_an_agents_business_contacts_can_stay_while_personal_ones_go():
    from curate.stages.clean.redact import Redact

    turns = [
        {"role": "user", "content": "My work line is 1-800-555-0100 and my mail is kim.lee@example.com, call me."},
        {
            "role": "assistant",
            "content": "Call us on 1-800-555-0199 or write to support@shop.example; I am jane.doe@example.com.",
        },
    ]
    rows = pl.DataFrame({"id": ["c"], "text": [turns[0]["content"]], "messages": [json.dumps(turns)]})
    kept = Redact(keep_in_answers=["toll_free", "role_email"]).apply(rows).kept
    user, answer = (m["content"] for m in json.loads(kept["messages"][0]))
    assert user == "My work line is [PHONE] and my mail is [EMAIL], call me."
    assert answer == "Call us on 1-800-555-0199 or write to support@shop.example; I am [EMAIL]."
    assert kept["pii_turns"][0] == "message 1 (user): EMAIL, PHONE; message 2 (assistant): EMAIL"
    everything = json.loads(Redact().apply(rows).kept["messages"][0])[1]["content"]
    assert everything == "Call us on [PHONE] or write to [EMAIL]; I am [EMAIL_2]."


def test_the_cookbook_format_checks_name_what_is_wrong():
    assert chat.format_errors({"messages": MULTI_TURN}) == chat.format_errors({"messages": TOOLS}) == []
    assert chat.format_errors({"messages": []}) == ["missing_messages_list"]
    assert chat.format_errors({"messages": [{"role": "user", "content": "hi"}]}) == [
        "example_missing_assistant_message"
    ]
    odd = [{"role": "bot", "content": "", "mood": "glad"}, {"role": "assistant", "content": "ok"}]
    assert chat.format_errors({"messages": odd}) == ["message_unrecognized_key", "missing_content", "unrecognized_role"]


def test_personal_data_in_tool_call_arguments_is_redacted_and_other_calls_keep_their_text():
    """A tool call's arguments are text a model learns from: the customer's address and phone number in
    `lookup_customer`'s arguments are replaced like any message's, the JSON stays valid, and a call with nothing
    personal keeps its arguments character for character."""
    from curate.stages.clean.redact import Redact

    lookup = '{"email": "ana.silva@example.org", "phone": "+1 415 555 0134", "notes": ["call back", 2]}'
    track = '{"order":  "5522"}'  # two spaces: untouched text stays as written
    conversation = [
        {"role": "user", "content": "Did my refund go through?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "lookup_customer", "arguments": lookup}},
                {"id": "c2", "type": "function", "function": {"name": "track", "arguments": track}},
            ],
        },
        {"role": "assistant", "content": "Yes, it went through yesterday."},
    ]
    rows = pl.DataFrame({"id": ["t1"], "text": ["Did my refund go through?"], "messages": [chat.dump(conversation)]})
    result = Redact().apply(rows)
    messages = chat.load(result.kept["messages"][0])
    calls = {call["function"]["name"]: call["function"]["arguments"] for call in messages[1]["tool_calls"]}
    assert json.loads(calls["lookup_customer"]) == {"email": "[EMAIL]", "phone": "[PHONE]", "notes": ["call back", 2]}
    assert calls["track"] == track
    assert "ana.silva" not in result.kept["messages"][0] and "555 0134" not in result.kept["messages"][0]
    assert result.kept["pii_turns"][0] == "message 2 (assistant): EMAIL, PHONE"
