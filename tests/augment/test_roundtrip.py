"""Each round-trip check drops the garbled row it was read off and keeps a row read as `same` (rows from
benchmarks/results/augment_read/, reading and row number in the comment)."""

import polars as pl
import pytest

from curate.stages.augment.checks import CandidateChecks
from curate.stages.augment.protect import lost_key_terms, protect
from curate.stages.augment.roundtrip import CHECKS
from tests.conftest import frame

CHECK = dict(CHECKS)
# check name, source, candidate read as changed or broken, source, candidate read as same
ROWS = [
    (  # snips-fourth 3; snips-second 40
        "mine_before_noun",
        ("Add nyoil to my this is prince playlist", "Add nyoil to mine is the prince playlist"),
        ("Please add carmel to my lunchtime playlist.", "Add carmel to my lunchtime playlist."),
    ),
    (  # snips-fourth 42; snips-second 40
        "this_is_name_lost",
        ("Add another song to my this is status quo playlist. ", "Add another song to my status quo playlist."),
        ("Please add carmel to my lunchtime playlist.", "Add carmel to my lunchtime playlist."),
    ),
    (  # clinc150-full-fourth 34; clinc150-full 3 ("on" that switches nothing may change)
        "switch_particle_lost",
        ("put fan on", "put fan in"),
        ("what's on the shopping list", "What's in the shopping list"),
    ),
    (  # clinc150-full-fourth 10; clinc150-full 3
        "switch_particle_lost",
        ("on the fan", "About the Fan"),
        ("what's on the shopping list", "What's in the shopping list"),
    ),
    (  # clinc150-full-fifth 33 (two words between, a "please" after); clinc150-full 3
        "switch_particle_lost",
        ("turn the fan on please", "turn the fan please"),
        ("what's on the shopping list", "What's in the shopping list"),
    ),
    (  # clinc150-full-fifth 19; snips 29 ("of" → "as" is left to the other checks)
        "of_relation_changed",
        (
            "i need to know my bank of america account routing number",
            "I need to know my bank in the america account routing number",
        ),
        (
            "Is it cloudy in the same area of Lynn Shore Reservation",
            "It is cloudy in the same area as Lynn Shore Reservation",
        ),
    ),
    (  # snips-second 37; bitext 27 (a dropped "of" is left to the other checks)
        "of_relation_changed",
        (
            "Put some Stu Phillips in the women of acoustic playlist. ",
            "Put some Stu Phillips on the women in the acoustic playlist.",
        ),
        ("ETA of order 113542617735902", "ETA order 113542617735902"),
    ),
    (  # clinc150-full-fourth 38; clinc150-full-third 14
        "said_no_changed",
        ("how do they say no in germany", "How they say not in germany"),
        ("no, that's incorrect", "No, this is incorrect"),
    ),
    (  # snips-fourth 45; clinc150-full-third 4
        "wrong_article",
        ("table for 6 at a brasserie", "table for 6 in an brasserie"),
        ("when did i last service my car with an oil change", "when I last service my car with an oil change"),
    ),
    (  # snips-fourth 30; snips 32 ("an eight party" was read as good)
        "wrong_article",
        ("I have a party of 7 in East Timor", "I have an 7 party on East Timor"),
        (
            "Can you make reservations for a party of eight in Iowa",
            "You can make reservations for an eight party in Iowa",
        ),
    ),
    (  # snips-fourth 11; snips 12
        "doubled_article",
        ("Can I see the TV show The Closer I Get?", "Can I see the The Closer I Get TV show?"),
        ("Show me the saga My Darling", "Show me the My Darling saga"),
    ),
    (  # snips-third 38; bitext 15 (a name before a common noun may take "the")
        "the_before_name",
        (
            "I want to book a restaurant in Botswana for four people.",
            "I want to book a restaurant on the Botswana for four people.",
        ),
        ("correct details on Freemium account", "correct details in the Freemium account"),
    ),
    (  # snips-third 46; snips-second 12
        "the_before_name",
        ("Play music on pandora", "Play music in the pandora"),
        (
            "Book a table for 6 in New Hampshire for next week.",
            "Book a table for 6 on New Hampshire for the next week.",
        ),
    ),
    (  # snips-fourth 6; snips-second 14
        "dangling_end",
        ("rate this book 2 of 6\n points", "rate this book 2 of 6\n Points of the"),
        ("I'd give this essay a three of 6", "I would give this essay a three of 6"),
    ),
    (  # snips-third 39; snips-second 12
        "verb_moved",
        ("rate The Bunce 1 stars", "The Bunce 1 Stars Rate"),
        (
            "Book a table for 6 in New Hampshire for next week.",
            "Book a table for 6 on New Hampshire for the next week.",
        ),
    ),
    (  # made up for the two-to-three-words branch (no read row has it): an "on" that switches, three words from its
        # verb, before "for"; an "on" three words from "leave" that places something may change
        "switch_particle_lost",
        ("turn the kitchen light on for an hour", "turn the kitchen light for an hour"),
        ("leave the package on the porch", "leave the package in the porch"),
    ),
]


@pytest.mark.parametrize("name,garbled,same", ROWS)
def test_each_round_trip_check_drops_its_garbled_row_and_keeps_a_good_one(name, garbled, same):
    assert CHECK[name](*garbled)
    assert CHECK[name](*same) == []


@pytest.mark.parametrize("name,garbled,same", ROWS[:1] + ROWS[4:7] + ROWS[8:9])
def test_the_stage_drops_a_round_trip_pattern_with_the_checks_name(name, garbled, same):
    rows = pl.DataFrame({"id": ["c0"], "label": ["x"], "source_text": [garbled[0]], "text": [garbled[1]]})
    kept, reasons = CandidateChecks(min_similarity=0.0, max_similarity=1.0, label_check=False).check(
        rows, frame(["other text"], ["x"])
    )
    assert kept.is_empty() and reasons[name] == 1


def test_an_hour_after_at_is_one_protected_span():
    # clinc150-full-fourth 8, snips-fourth 9: "at 7" → "in 7", "at seven" → "in seven"
    assert protect("a table for 4 at red robin under the name kevin at 7")[1] == ["4", "at 7"]
    assert protect("Find me a table for two at seven somewhere in Australia")[1] == ["at seven"]
    assert protect("reserve a table for 2 at red lobster at 8:00")[1] == ["2", "at 8:00"]
    # not a count, nor a street number (clinc150-full-third 49, snips 41: read as same)
    assert protect("i need to get my tired checked at one of the location")[1] == []
    assert protect("for a party of nine at 5 North St")[1] == ["5"]
    source = "you must reserve a table for 4 at red robin under the name kevin at 7"
    assert "span:at 7" in lost_key_terms(
        source, "you should reserve a table for 4 in red robin under the name kevin in 7"
    )
