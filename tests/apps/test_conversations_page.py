"""The explorer's Conversations page on a real run of the conversations recipe, through Streamlit's AppTest."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

import curate
from curate.cli.main import app as cli
from tests.io.test_conversations import AGENT_PII, CUT_MID_THREAD, MULTI_TURN, RECIPE, TOOLS, write_chat

APP = str(Path(__file__).resolve().parents[2] / "apps/explorer.py")


@pytest.fixture(scope="module")
def chat_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("chat")
    given = {"multi": MULTI_TURN, "tools": TOOLS, "agent_pii": AGENT_PII, "cut": CUT_MID_THREAD}
    source = write_chat(folder / "chat.jsonl", given)
    result = CliRunner().invoke(cli, ["run", str(RECIPE), "--input", str(source), "--out", str(folder / "run")])
    assert result.exit_code == 0, result.output
    return folder / "run"


@pytest.fixture()
def page(chat_run, monkeypatch) -> AppTest:
    monkeypatch.setenv("CURATE_RUN", str(chat_run))
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/conversations.py").run()
    assert not at.exception, at.exception
    return at


def test_a_rejected_conversation_is_drawn_as_a_chat_with_the_message_its_reason_names(page):
    table = page.dataframe[0].value
    assert set(table["id"]) == {"multi", "tools", "agent_pii", "cut"}
    page.radio[0].set_value("rejected").run()
    assert list(page.dataframe[0].value["id"]) == ["cut"]
    assert "rejected by **responses**: `cut_off`" in page.error[0].value
    turns = page.chat_message
    assert [t.name for t in turns] == ["user", "assistant", "user", "assistant"]
    named = [i for i, t in enumerate(turns) if "the reason is about this message" in t.caption[0].value]
    assert named == [1]
    assert turns[1].markdown[0].value == CUT_MID_THREAD[1]["content"]


def test_an_approved_conversation_shows_its_system_prompt_tool_calls_and_redactions(page):
    page.selectbox[0].set_value("multi").run()
    assert [t.name for t in page.chat_message] == ["system", "user", "assistant", "user", "assistant"]
    assert "approved" in page.success[0].value
    page.selectbox[0].set_value("tools").run()
    assert '"tool_call_id": "call_1"' in page.chat_message[2].code[0].value
    page.selectbox[0].set_value("agent_pii").run()
    assert "redacted: EMAIL" in page.chat_message[1].caption[0].value
    assert "[EMAIL]" in page.chat_message[1].markdown[0].value


def test_a_run_without_conversations_says_so(tmp_path, monkeypatch):
    (tmp_path / "tickets.csv").write_text("id,text\na,where is my order\nb,cancel my order please\n", encoding="utf-8")
    curate.run({"input": {"path": str(tmp_path / "tickets.csv")}, "stages": ["clean"]}, output=tmp_path / "run")
    monkeypatch.setenv("CURATE_RUN", str(tmp_path / "run"))
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/conversations.py").run()
    assert not at.exception, at.exception
    assert "no conversations" in at.info[0].value
