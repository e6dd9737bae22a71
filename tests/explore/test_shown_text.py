from curate.explore.data import shown_text


def test_a_text_of_only_whitespace_is_said_in_words_not_drawn_as_nothing():
    assert shown_text("   \n ") == "*(only whitespace: 4 spaces, 1 line breaks)*"
    assert shown_text("\u00a0\u2003") == "*(only whitespace: 2 characters)*"
    assert shown_text("") == shown_text(None) == "*(empty)*"
    assert shown_text("call me at [PHONE] please") == "call me at `[PHONE]` please"
