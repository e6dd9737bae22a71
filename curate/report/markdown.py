"""report.md: what happened to the data, in the order a reviewer asks."""

from __future__ import annotations

from typing import Any


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|").replace("\n", " ") for cell in row) + " |" for row in rows]
    return lines + [""]


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_markdown(report: dict[str, Any]) -> str:
    totals = report["totals"]
    source = report["input"]
    out = [
        "# Curation report",
        "",
        f"Input `{source['path']}` ({source['format']}, {source['bytes']:,} bytes, sha256 `{source['sha256'][:16]}`), "
        f"recipe `{report['recipe']['path']}` (hash `{report['recipe']['hash']}`), {report['created']}.",
        "",
        f"**{totals['input_rows']:,} input rows = {totals['approved'] - totals['generated']:,} approved "
        f"+ {totals['rejected']:,} rejected** (every row accounted for: {totals['conservation']})"
        + (f"; {totals['generated']:,} generated rows approved besides." if totals["generated"] else "."),
        "",
        "## Rows through the stages",
        "",
    ]
    out += _table(
        ["stage", "rows in", "kept", "rejected", "added", "seconds"],
        [[s["stage"], f"{s['rows_in']:,}", f"{s['kept']:,}", f"{s['rejected']:,}", f"{s['added']:,}", s["seconds"]] for s in report["stages"]],
    )
    rejections = [(s["stage"], reason, n) for s in report["stages"] for reason, n in s["rejected_by_reason"].items()]
    if rejections:
        out += ["## Why rows were rejected", ""]
        out += _table(["stage", "reason", "rows"], [[stage, reason, f"{n:,}"] for stage, reason, n in rejections])
        out += ["### Examples (PII redacted)", ""]
        for s in report["stages"]:
            for reason, examples in s.get("examples", {}).items():
                out.append(f"- **{s['stage']} / {reason}**")
                out += [f"  - `{e['id']}`: “{_short(e['text'])}” — {e['detail']}" for e in examples]
        out.append("")
    out += ["## What each stage found", ""]
    for s in report["stages"]:
        facts = ", ".join(f"{k}: {v}" for k, v in s["stats"].items() if not isinstance(v, (dict, list)))
        nested = "; ".join(
            f"{k}: " + ", ".join(f"{kk} {vv}" for kk, vv in v.items()) for k, v in s["stats"].items() if isinstance(v, dict) and v
        )
        out.append(f"- **{s['stage']}**: {facts or 'no figures'}" + (f"; {nested}" if nested else ""))
    out.append("")
    labels = report.get("labels", {})
    if labels.get("input"):
        out += ["## Labels before and after", ""]
        names = list(labels["input"]) + [n for n in labels.get("approved", {}) if n not in labels["input"]]
        out += _table(["label", "input", "approved"], [[n, labels["input"].get(n, 0), labels.get("approved", {}).get(n, 0)] for n in names])
    for section in report.get("sections", []):
        out += [f"## {section['title']}", "", section["markdown"], ""]
    return "\n".join(out).rstrip() + "\n"
