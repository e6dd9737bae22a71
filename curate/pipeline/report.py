"""report.md: what happened to the data, in the order a reviewer asks."""

from __future__ import annotations

from typing import Any


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += [
        "| " + " | ".join(str(cell).replace("|", "\\|").replace("\n", " ") for cell in row) + " |" for row in rows
    ]
    return lines + [""]


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_gate(gate: dict[str, Any]) -> list[str]:
    verdict = "PASSED" if gate["success"] else "FAILED"
    out = [f"## Gate: {verdict} ({gate['suite']})", ""]
    rows = []
    for o in gate["outcomes"]:
        observed = (
            o["observed"]
            if o["observed"] is not None
            else (f"{o['unexpected_count']} unexpected" if o["unexpected_count"] is not None else "")
        )
        if isinstance(observed, float):
            observed = round(observed, 4)
        limits = {k: v for k, v in o["kwargs"].items() if k not in ("column", "regex_list", "value_set", "match_on")}
        rows.append(
            [
                "pass" if o["success"] else "**FAIL**",
                o["expectation"],
                o["column"] or "",
                _short(str(observed), 60),
                _short(str(limits), 60),
            ]
        )
    out += _table(["result", "expectation", "column", "observed", "limits"], rows)
    for o in gate["outcomes"]:
        if not o["success"] and o["examples"]:
            out.append(
                f"- failing examples of {o['expectation']}({o['column']}): "
                + "; ".join(
                    f"`{e.get('id', '')}` “{_short(str(e.get('text', e.get('value', ''))), 80)}”"
                    + (f" [{e['label']}]" if e.get("label") else "")
                    for e in o["examples"]
                )
            )
    return out + [""]


def render_document(name: str, document: dict[str, Any]) -> list[str]:
    """Any JSON artifact without a renderer of its own: its top-level figures."""
    facts = [
        f"- {key}: {_short(str(value), 100)}" for key, value in document.items() if not isinstance(value, (dict, list))
    ]
    return [f"## {name}", "", *(facts or ["- (see the JSON file)"]), ""]


def render_token_counts(stage: str, counts: dict[str, Any]) -> list[str]:
    """The `tokens` stage's figures: what the rows it saw cost to train on."""
    context = f"{counts['context']:,}" if counts.get("context") else "none known"
    out = [f"## Tokens and cost ({stage}, tokenizer `{counts['tokenizer']}`)", ""]
    out += _table(
        ["examples", "tokens", "prompt", "response", "mean", "median", "p95", "max", "context", "over context"],
        [
            [
                f"{counts['examples']:,}",
                f"{counts['tokens']:,}",
                f"{counts['prompt_tokens']:,}",
                f"{counts['response_tokens']:,}",
                counts["mean"],
                counts["median"],
                counts["p95"],
                counts["max"],
                context,
                f"{counts['over_context']:,}",
            ]
        ],
    )
    billed = f"{counts['billed_tokens_per_epoch']:,} tokens an epoch (examples over the context counted up to it)"
    if "cost_per_epoch" in counts:
        out.append(
            f"- {billed}: **{counts['cost_per_epoch']:,.2f} an epoch** at {counts['price_per_million']:g} per million tokens; "
            f"{counts['epochs']} epoch(s): **{counts['cost']:,.2f}**"
        )
    else:
        out.append(f"- {billed}; give `price_per_million` for the cost")
    return out + [""]


RENDERERS = {"gate": render_gate}  # JSON artifacts with a section of their own


def renamed_columns(source: dict[str, Any]) -> str:
    return ", ".join(f"`{old}` → `{new}`" for old, new in source.get("renamed_columns", {}).items())


def render_markdown(report: dict[str, Any], artifacts: dict[str, Any] | None = None) -> str:
    totals = report["totals"]
    source = report["input"]
    out = [
        "# Curation report",
        "",
        f"Input `{source['path']}` ({source['format']}, {source['bytes']:,} bytes, sha256 `{source['sha256'][:16]}`), "
        f"recipe `{report['recipe']['path']}` (hash `{report['recipe']['hash']}`), {report['created']}.",
        "",
        *(
            [f"Input columns named like columns curate writes were renamed: {renamed_columns(source)}.", ""]
            if source.get("renamed_columns")
            else []
        ),
        f"**{totals['input_rows']:,} input rows = {totals['approved'] - totals['generated']:,} approved "
        f"+ {totals['rejected']:,} rejected** (every row accounted for: {totals['conservation']})"
        + (f"; {totals['generated']:,} generated rows approved besides." if totals["generated"] else "."),
        "",
        "## Rows through the stages",
        "",
    ]
    out += _table(
        ["stage", "rows in", "kept", "rejected", "added", "seconds"],
        [
            [s["stage"], f"{s['rows_in']:,}", f"{s['kept']:,}", f"{s['rejected']:,}", f"{s['added']:,}", s["seconds"]]
            for s in report["stages"]
        ],
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
    if report.get("halted"):
        out += [
            f"> **Stopped:** {report['halted']}. Stages not run: {', '.join(report.get('stages_not_run') or []) or 'none'}.",
            "",
        ]
    out += ["## What each stage found", ""]
    for s in report["stages"]:
        stats = {k: v for k, v in s["stats"].items() if k not in ("fingerprint", "labels", "token_counts")}
        facts = ", ".join(f"{k}: {v}" for k, v in stats.items() if not isinstance(v, (dict, list)))
        nested = "; ".join(
            f"{k}: " + ", ".join(f"{kk} {vv}" for kk, vv in v.items())
            for k, v in stats.items()
            if isinstance(v, dict) and v
        )
        out.append(f"- **{s['stage']}**: {facts or 'no figures'}" + (f"; {nested}" if nested else ""))
    out.append("")
    labels = report.get("labels", {})
    if labels.get("input"):
        out += ["## Labels before and after", ""]
        names = list(labels["input"]) + [n for n in labels.get("approved", {}) if n not in labels["input"]]
        out += _table(
            ["label", "input", "approved"],
            [[n, labels["input"].get(n, 0), labels.get("approved", {}).get(n, 0)] for n in names],
        )
    for s in report["stages"]:
        if s["stats"].get("token_counts"):
            out += render_token_counts(s["stage"], s["stats"]["token_counts"])
    for s in report["stages"]:
        if s["stats"].get("findings"):
            out += [f"## Findings of {s['stage']}", ""] + [f"- {finding}" for finding in s["stats"]["findings"]] + [""]
    for name, document in (artifacts or {}).items():
        if isinstance(document, dict):
            out += RENDERERS.get(name, lambda d, n=name: render_document(n, d))(document)
    return "\n".join(out).rstrip() + "\n"
