import pytest

from curate.stages.clean import text as T


def test_html_becomes_text_with_line_breaks():
    html = "<div><p>Hello &amp; welcome</p><p>I need <b>help</b><br>today</p><script>track()</script></div>"
    assert T.html_to_text(html).split() == ["Hello", "&", "welcome", "I", "need", "help", "today"]
    assert "\n" in T.html_to_text(html)
    assert T.html_to_text("a &lt; b and 5 > 3") == "a < b and 5 > 3"


def test_quoted_reply_chain_is_cut():
    ticket = "Still no refund!\n\nOn Tue, 4 Jun 2024 at 09:12, Shop Support wrote:\n> Thank you for contacting us.\n> We will reply."
    assert T.strip_quoted_reply(ticket).strip() == "Still no refund!"
    outlook = "Where is it?\n\n-----Original Message-----\nFrom: support\nSent: Monday\nold"
    assert T.strip_quoted_reply(outlook).strip() == "Where is it?"
    assert T.strip_quoted_reply("On Monday I wrote to you twice") == "On Monday I wrote to you twice"


def test_signatures_are_cut_but_not_the_message():
    assert T.strip_signature("I want a refund\n\nBest regards,\nJohn Smith\nAcme Ltd").strip() == "I want a refund"
    assert T.strip_signature("I want a refund\n-- \nJohn | Acme").strip() == "I want a refund"
    assert T.strip_signature("Where is my parcel?\n\nSent from my iPhone").strip() == "Where is my parcel?"
    assert T.strip_signature("Thanks") == "Thanks"  # a message that is only a closing stays
    long_tail = "Thanks for the help last week, but the new order still has not arrived and nobody answers the phone"
    assert T.strip_signature("Hello\n" + long_tail) == "Hello\n" + long_tail


def test_greeting_on_its_own_line_or_before_the_request():
    assert T.strip_greeting("Hi team,\nI want a refund") == "I want a refund"
    assert T.strip_greeting("Hi, I want a refund") == "I want a refund"  # resends differ by such greetings
    assert T.strip_greeting("Hello,\n") == "Hello,\n"


def test_mojibake_and_quotes_are_repaired():
    assert T.fix_unicode("I donâ€™t know") == "I don't know"
    assert T.fix_unicode("cafe\u0301") == "caf\u00e9"  # NFC


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Hey there, Can I write a cheque to top up?", "Can I write a cheque to top up?"),
        ("Dear Sir or Madam, I want to close my account", "I want to close my account"),
        ("Where is my order 4521? Thanks!", "Where is my order 4521?"),
        ("can you help me, thank you so much", "can you help me"),
        ("hello", "hello"),  # a greeting intent (CLINC150) is the whole request
        ("thanks for your help", "thanks for your help"),
        ("Hilton hotel booking please", "Hilton hotel booking please"),
        ("my card was declined \u2014 thanks", "my card was declined"),  # the generator's resend
        ("please cancel my order\nthanks", "please cancel my order"),
        ("Where is my order 4521.Thanks", "Where is my order 4521."),
        ("please cancel my order\r\nthanks", "please cancel my order"),
        ("translate this for me: thank you", "translate this for me: thank you"),  # what to translate, not a sign-off
        # CLINC150's thank_you intent: the thanks is what the sentence says, not a sign-off after it
        ("i would like to thank you", "i would like to thank you"),
        ("i need to thank you", "i need to thank you"),
        ("you did a good job thank you", "you did a good job thank you"),
    ],
)
def test_greetings_and_thanks_on_the_request_line(text, expected):
    assert T.strip_greeting(text) == expected
