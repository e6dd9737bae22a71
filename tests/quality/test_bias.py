from curate.stages.quality.bias import Bias, normalized_entropy
from tests.conftest import frame


def test_entropy():
    assert abs(normalized_entropy([10, 10, 10]) - 1.0) < 1e-9
    assert normalized_entropy([100, 1]) < 0.1


def test_flags_terms_and_finds_a_planted_association():
    texts = (
        ["my wife cannot log in"] * 8
        + ["I cannot log in"] * 8
        + ["refund my damn order"] * 4
        + ["refund my order"] * 12
    )
    labels = ["login"] * 16 + ["refund"] * 16
    result = Bias(min_term_count=3).apply(frame(texts, labels))
    assert result.rejected.is_empty() and result.kept.height == 32
    assert result.kept["identity_terms"][0].to_list() == ["wife"] and result.kept["toxic"].sum() == 4
    wife = next(p for p in result.stats["associations"] if p["term"] == "wife")
    assert wife["label"] == "login" and wife["p_value"] < 0.01 and wife["pmi"] > 0.6
    assert any("'wife' (gender) appears in 8 rows and leans to 'login'" in f for f in result.stats["findings"])
    assert result.stats["imbalance_ratio"] == 1.0


def test_sample_report_states_imbalance(sample_rows):
    result = Bias().apply(sample_rows)
    assert result.stats["classes"] == 27 and result.stats["imbalance_ratio"] > 5
    assert result.stats["findings"][0].startswith("27 classes; the largest")
    assert {"label", "rows", "mean_chars", "toxic_share"} <= set(result.stats["by_class"][0])
