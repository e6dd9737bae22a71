import polars as pl

from curate.stages.clean.clean import Clean
from tests.conftest import frame


def test_clean_changes_text_and_rejects_only_emptied_rows():
    rows = frame(["<p>Parcel</p><p>Order&nbsp;late</p>", "  spaced \t out\n\n\n\nlines ", "<p> </p>", "plain"])
    result = Clean().apply(rows)
    assert result.kept["text"].to_list() == ["Parcel\n\nOrder late", "spaced out\n\nlines", "plain"]
    assert result.rejected.select("id", "stage", "reason").rows() == [("r2", "clean", "empty_after_clean")]
    assert result.stats["html_converted"] == 2 and result.stats["rows_changed"] == 3


def test_steps_can_be_switched_off():
    rows = frame(["<b>bold</b> claim"])
    assert Clean(html=False).apply(rows).kept["text"][0] == "<b>bold</b> claim"


def test_clean_on_the_sample_removes_planted_markup(sample_rows, truth):
    cleaned = Clean().apply(sample_rows).kept.join(truth, left_on="id", right_on="ticket_id")

    def share(kind: str, pattern: str) -> float:
        planted = cleaned.filter(pl.col(kind))
        return planted["text"].str.contains(pattern).mean()

    assert cleaned.filter(pl.col("html")).height > 50
    assert share("html", r"<[a-z/]|&amp;") == 0
    assert share("mojibake", "â€") == 0
    assert share("quoted", r"wrote:|^>") == 0
    assert share("signature", r"(?m)^(Thanks|Best regards|Kind regards|Cheers),?$|Sent from my|^-- ?$") == 0
    # Clean rows of Bitext stay word for word.
    plain = cleaned.filter(
        pl.col("kind") == "original",
        ~pl.col("html"),
        ~pl.col("mojibake"),
        ~pl.col("signature"),
        ~pl.col("greeting"),
        ~pl.col("quoted"),
        pl.col("pii") == [],
    )
    source = pl.read_csv("data/sample/tickets.csv").select("ticket_id", pl.col("body").str.strip_chars())
    same = (
        plain.join(source, left_on="id", right_on="ticket_id").select((pl.col("text") == pl.col("body")).mean()).item()
    )
    assert same > 0.97


def test_only_real_html_is_converted_and_template_slots_survive():
    """`<All alarms>`, `<City>` and `<band>` (real home-assistant queries) are no HTML: clean emptied or stripped them."""
    rows = frame(
        [
            "<All alarms>",
            "Events in <City>",
            "play <band> now",
            "<p>my order <City> is <b>late</b></p>",
            "a < b and c > d",
        ]
    )
    result = Clean().apply(rows)
    assert result.rejected.is_empty()
    assert result.kept["text"].to_list() == [
        "<All alarms>",
        "Events in <City>",
        "play <band> now",
        "my order <City> is late",
        "a < b and c > d",
    ]
    assert result.stats["html_converted"] == 1
