"""The README's notebook example runs as written, and the API writes nothing unless asked."""

import re
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_python_example_runs(monkeypatch, capsys, tmp_path):
    code = re.search(r"## Python\n\n```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    # In a folder of its own holding the sample at the README's path (the checkout's root is shared with tests
    # running beside this one, which write their own files there).
    (tmp_path / "data" / "sample").mkdir(parents=True)
    (tmp_path / "data" / "sample" / "tickets.csv").symlink_to(ROOT / "data" / "sample" / "tickets.csv")
    monkeypatch.chdir(tmp_path)
    before = set(tmp_path.rglob("*"))
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    run = namespace["run"]
    assert run.report["totals"]["input_rows"] == 2002 == run.approved.height + run.rejected.height
    assert {"exact_duplicate", "near_duplicate", "empty_text"} <= set(run.rejected["reason"])
    assert run.clusters is not None and run.clusters.height > 0
    assert set(tmp_path.rglob("*")) == before  # nothing written


def test_load_run_and_output(tmp_path):
    import curate

    recipe = (
        "input: {path: %s, text: body, label: intent, id: ticket_id}\nstages:\n  - clean\n  - dedup: {method: exact}\n"
        % (ROOT / "data/sample/tickets.csv")
    )
    written = curate.run(recipe, output=tmp_path / "run")
    again = curate.load_run(tmp_path / "run")
    assert again.approved.equals(written.approved) and again.clusters.equals(written.clusters)
    assert isinstance(again.report["totals"]["approved"], int) and again.rejected.height == written.rejected.height
    assert pl.read_parquet(tmp_path / "run/approved.parquet").height == written.approved.height
