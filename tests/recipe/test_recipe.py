from pathlib import Path

import pytest

from curate.stages.clean.clean import Clean
from curate.stages.dedup.exact import ExactDedup
from curate.core.errors import RecipeError
from curate.recipe import load_recipe, parse_recipe

GOOD = """\
input: {path: data/tickets.csv, text: body, label: queue, id: ticket_id}
stages:
  - clean
  - redact
  - dedup: {method: exact, keep: longest}
output: runs/tickets
"""


def test_parses_the_documented_vocabulary():
    recipe = parse_recipe(GOOD, "r.yaml")
    assert recipe.input.text == "body" and recipe.input.label == "queue" and recipe.input.id == "ticket_id"
    assert [s.display_name for s in recipe.stages] == ["clean", "redact", "dedup:exact"]
    assert isinstance(recipe.stages[0], Clean)
    assert isinstance(recipe.stages[2], ExactDedup) and recipe.stages[2].keep == "longest"
    assert recipe.output == Path("runs/tickets")
    assert len(recipe.hash) == 16


def test_flags_override_input_and_output():
    recipe = parse_recipe(GOOD, "r.yaml", input_path="other.jsonl", output="elsewhere")
    assert recipe.input.path == Path("other.jsonl") and recipe.output == Path("elsewhere")


@pytest.mark.parametrize(
    "broken, where, message",
    [
        (GOOD.replace("  - redact", "  - redcat"), "r.yaml:4 (stages[1])", "unknown stage 'redcat'"),
        (
            GOOD.replace("keep: longest", "keep: tallest"),
            "r.yaml:5 (stages[2].dedup).keep",
            "Input should be 'first', 'longest' or 'most_complete'",
        ),
        (GOOD.replace("keep: longest", "kep: longest"), "r.yaml:5 (stages[2].dedup).kep", "unknown parameter 'kep'"),
        (GOOD.replace("method: exact", "method: fuzzy"), "r.yaml:5 (stages[2].dedup).method", "unknown method 'fuzzy'"),
        (GOOD.replace("output: runs/tickets", "outptu: runs/tickets"), "r.yaml:6 (outptu)", "unknown key 'outptu'"),
        (GOOD.replace("text: body", "txt: body"), "r.yaml:1 (input.txt)", "unknown input key 'txt'"),
        (
            GOOD.replace("  - clean\n", "  - clean: [1, 2]\n"),
            "r.yaml:3 (stages[0].clean)",
            "parameters of 'clean' must be a mapping",
        ),
        (GOOD.replace("stages:", "stages: 3\nx:"), "r.yaml", "unknown key 'x'"),
    ],
)
def test_errors_name_the_line_and_key(broken, where, message):
    with pytest.raises(RecipeError) as caught:
        parse_recipe(broken, "r.yaml")
    assert caught.value.where.startswith(where), caught.value.where
    assert message in caught.value.message


def test_bad_yaml_names_the_line():
    with pytest.raises(RecipeError) as caught:
        parse_recipe("input: {path: a.csv\nstages: [clean]\n", "r.yaml")
    assert caught.value.where.startswith("r.yaml:") and "not valid YAML" in caught.value.message


def test_wrong_type_names_the_parameter():
    with pytest.raises(RecipeError) as caught:
        parse_recipe(GOOD.replace("  - clean\n", "  - clean: {html: maybe}\n"), "r.yaml")
    assert caught.value.where == "r.yaml:3 (stages[0].clean).html"
    assert "boolean" in caught.value.message and "'maybe'" in caught.value.message


def test_missing_pieces_say_what_to_add():
    with pytest.raises(RecipeError, match="missing `input`"):
        parse_recipe("stages: [clean]\noutput: x\n", "r.yaml")
    with pytest.raises(RecipeError, match="`stages` must be a non-empty list"):
        parse_recipe("input: a.csv\noutput: x\n", "r.yaml")
    with pytest.raises(RecipeError, match="missing `output`"):
        parse_recipe("input: a.csv\nstages: [clean]\n", "r.yaml")
    with pytest.raises(RecipeError, match="the recipe is empty"):
        parse_recipe("", "r.yaml")


def test_yaml_tags_are_not_executed():
    with pytest.raises(RecipeError, match="not valid YAML"):
        parse_recipe("input: !!python/object/apply:os.system ['echo hi']\nstages: [clean]\noutput: x\n", "r.yaml")


def test_missing_recipe_file(tmp_path):
    with pytest.raises(RecipeError, match="recipe file not found"):
        load_recipe(tmp_path / "nope.yaml")


def test_shipped_recipes_are_valid():
    for path in Path(__file__).resolve().parents[2].joinpath("recipes").glob("*.yaml"):
        assert load_recipe(path).stages


@pytest.mark.parametrize(
    "stage, key, message",
    [
        ("quality: {min_letter_share: .nan}", "min_letter_share", "got nan"),
        ("quality: {max_caps_share: -1}", "max_caps_share", "greater than or equal to 0"),
        ("split: {validation: 0.7, test: 0.6}", "split", "nothing would be left for training"),
        ("split: {validation: -0.1}", "validation", "greater than or equal to 0"),
        ("dedup: {method: minhash, num_perm: 0}", "num_perm", "greater than or equal to 1"),
        ("dedup: {method: minhash, ngram: -3}", "ngram", "greater than or equal to 1"),
        ("rebalance: {max_ratio: 0}", "max_ratio", "greater than or equal to 1"),
        ("rebalance: {max_ratio: .nan}", "max_ratio", "got nan"),
        ("train: {lr: -0.001}", "lr", "greater than 0"),
        ("labels: {folds: 1}", "folds", "greater than or equal to 2"),
    ],
)
def test_nonsense_parameters_are_refused_with_their_key(stage, key, message):
    """Found by the trust review: these were accepted and silently did the wrong thing."""
    with pytest.raises(RecipeError, match=message) as caught:
        parse_recipe(f"input: t.csv\nstages:\n  - {stage}\noutput: out\n", "r.yaml")
    assert caught.value.where.startswith("r.yaml:3") and key in caught.value.where


@pytest.mark.parametrize(
    "stage, field, expected",
    [
        ("labels: {mislabelled: off}", "mislabelled", "off"),  # YAML 1.1 reads `off` and `no` as False
        ("labels: {mislabelled: no}", "mislabelled", "off"),
        ("labels: {mislabelled: 'off'}", "mislabelled", "off"),
        ("responses: {actions: {cut_off: off, refusal: flag}}", "actions", {"cut_off": "off", "refusal": "flag"}),
    ],
)
def test_an_unquoted_off_is_the_word_where_the_parameter_takes_it(stage, field, expected):
    recipe = parse_recipe(f"input: t.csv\nstages:\n  - {stage}\noutput: out\n", "r.yaml")
    assert getattr(recipe.stages[0], field) == expected


@pytest.mark.parametrize(
    "stage, key",
    [
        ("labels: {mislabelled: on}", "mislabelled"),
        ("quality: {min_chars: true}", "min_chars"),
        ("dedup: {method: minhash, num_perm: yes}", "num_perm"),
    ],
)
def test_a_boolean_is_no_number_and_no_other_word(stage, key):
    with pytest.raises(RecipeError, match="not the boolean") as caught:
        parse_recipe(f"input: t.csv\nstages:\n  - {stage}\noutput: out\n", "r.yaml")
    assert key in caught.value.where


def test_engine_settings_are_checked_as_parameters():
    recipe = parse_recipe(
        "input: t.csv\nstages: [clean]\noutput: out\nengine: {name: local, block_rows: 500}\n", "r.yaml"
    )
    assert (recipe.engine, recipe.engine_block_rows) == ("local", 500)
    with pytest.raises(RecipeError, match="greater than or equal to 1") as caught:
        parse_recipe("input: t.csv\nstages: [clean]\noutput: out\nengine: {name: ray, block_rows: 0}\n", "r.yaml")
    assert caught.value.where == "r.yaml:4 (engine.block_rows)"
