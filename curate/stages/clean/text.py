"""Pure text functions behind the `clean` stage; each is safe to call on any string."""

from __future__ import annotations

import re

import ftfy

# An email client's header above a quoted earlier message; everything from it down is the old thread.
QUOTE_HEADER = re.compile(
    r"""(?imx)^[ \t]*(?:
        On\s[^\n]{0,200}?(?:\d|@|,)[^\n]{0,200}?(?:\n[^\n]{0,120}?)?\swrote:[ \t]*$
      | -{2,}[ \t]*(?:Original|Forwarded)[ \t]+Message[ \t]*-{2,}
      | From:[ \t].+\n(?:.*\n){0,3}?[ \t]*(?:Sent|Date):[ \t]
      | _{10,}[ \t]*$
    )"""
)
QUOTED_LINE = re.compile(r"(?m)^[ \t]*>.*(?:\n|$)")
SIGNATURE_DELIMITER = re.compile(r"(?m)^--[ \t]?$")
SENT_FROM = re.compile(r"(?im)^[ \t]*(?:sent from my|get outlook for|sent via)\b.*$")
CLOSING = re.compile(
    r"(?im)^[ \t]*(?:(?:best|kind|warm|many)[ \t]+)?(?:regards|thanks|thank you|thx|cheers|sincerely|br|best)"
    r"(?:[ \t]+(?:in advance|again|so much))?[ \t]*[,.!]*[ \t]*$"
)
GREETING = re.compile(
    r"(?i)\A\s*(?:hi|hello|hey|dear|greetings|good (?:morning|afternoon|evening))\b[^\n]{0,40}?[,!:.]?[ \t]*\n"
)
# A salutation on the same line as the request: "Hey there, can I ...", "Dear Sir or Madam, ...", "Hi support - ...".
INLINE_GREETING = re.compile(
    r"(?i)\A\s*(?:hi|hello|hey|dear|greetings|good (?:morning|afternoon|evening))"
    r"(?:\s+(?:there|team|all|everyone|folks|support(?: team)?|sir(?: or madam)?|madam|[A-Z][a-z]+))?\s*[,!:.\-]+\s+"
)
# A thanks after the request, set off by punctuation or a line break: "... order 4521? Thanks!", "..., thank you so
# much", "... — thanks". Not a thanks the sentence is about: "i would like to thank you", "you did a good job thank you"
# (CLINC150's thank_you intent, which the former pattern cut to "i would like to").
INLINE_THANKS = re.compile(
    r"(?i)(?:(?<=[.!?\u2026])\s*|\s*[,;\-\u2013\u2014]+\s*|[ \t\r]*\n\s*)(?:many\s+)?(?:thanks|thank you|thx|cheers)"
    r"(?:\s+(?:in advance|a lot|so much|again))?[\s.!]*\Z"
)
MIN_WORDS_LEFT = 3  # a greeting or thanks is removed only when a request of at least this many words remains
THANKS_TAIL = 300  # a thanks is looked for in the text's last characters only (a 200,000-character text backtracks)
# HTML's element names: only these make a text HTML. `<City>`, `<band>` or `<All alarms>` are template slots or a
# customer's own brackets, and must reach `quality` as written (it judges slots), not vanish as unknown tags.
HTML_ELEMENTS = (
    "a abbr address area article aside audio b base bdi bdo blockquote body br button canvas caption center cite code col colgroup "
    "data dd del details dfn dialog div dl dt em embed fieldset figcaption figure font footer form h1 h2 h3 h4 h5 h6 head header hr "
    "html i iframe img input ins kbd label legend li link main map mark meta meter nav noscript object ol optgroup option output p "
    "param picture pre progress q s samp script section select small source span strike strong style sub summary sup table tbody "
    "td template textarea tfoot th thead title tr track tt u ul var video wbr o:p"
).split()
_ELEMENT = "(?:" + "|".join(sorted(map(re.escape, HTML_ELEMENTS), key=len, reverse=True)) + ")"
# A real tag: a known element name, then the end of the tag, a space before attributes, or a self-closing slash.
HTML_TAG = rf"</?{_ELEMENT}(?:[\s/][^<>]*)?>"
HTML_CANDIDATE = rf"(?i){HTML_TAG}|<!--|<!doctype|&[A-Za-z]{{2,8}};|&#\d{{2,5}};"
NOT_A_TAG = re.compile(rf"(?i)<(?!{HTML_TAG[1:]}|!--|!doctype)")
BLOCK_TAG = re.compile(r"(?i)<\s*(?:br|/p|/div|/li|/tr|/h[1-6]|p|div|li|tr)\b[^>]*>")
INVISIBLE = re.compile(r"[\u200b-\u200f\u2060\ufeff\u00ad]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def fix_unicode(text: str) -> str:
    """Repair mojibake (UTF-8 read as cp1252...), normalise to NFC and straighten curly quotes."""
    return ftfy.fix_text(text, normalization="NFC")


def html_to_text(text: str) -> str:
    """Turn an HTML fragment into text: block tags become line breaks, scripts and styles go."""
    from selectolax.lexbor import LexborHTMLParser

    text = NOT_A_TAG.sub("&lt;", text)  # a bracket that opens no HTML element is text ("<City>", "a < b")
    tree = LexborHTMLParser(BLOCK_TAG.sub(lambda m: "\n" + m.group(0), text))
    tree.strip_tags(["script", "style", "head"])
    root = tree.body or tree.root
    return root.text(separator="") if root is not None else ""


def strip_quoted_reply(text: str) -> str:
    """Drop the quoted earlier thread: from the first reply header down, and `>` quoted lines."""
    match = QUOTE_HEADER.search(text)
    if match and match.start() > 0:
        text = text[: match.start()]
    return QUOTED_LINE.sub("", text)


def strip_signature(text: str, max_signature_lines: int = 5) -> str:
    """Drop an email signature: after `-- `, "Sent from my ...", or a closing line near the end."""
    match = SIGNATURE_DELIMITER.search(text)
    if match and match.start() > 0:
        text = text[: match.start()]
    text = SENT_FROM.sub("", text).rstrip()
    lines = text.split("\n")
    for i in range(max(1, len(lines) - max_signature_lines - 1), len(lines)):
        if CLOSING.match(lines[i]) and all(len(line) <= 60 for line in lines[i + 1 :]):
            if "\n".join(lines[:i]).strip():
                return "\n".join(lines[:i])
    return text


def strip_greeting(text: str) -> str:
    """Drop a salutation on its own first line ("Hi team,") or before the request on the same line
    ("Hey there, can I ..."), and a thanks after it; a short text that is only a greeting stays as it is."""
    for pattern in (GREETING, INLINE_GREETING):
        text = _unless_too_little_left(text, pattern.sub("", text, count=1))
    cut = max(0, len(text) - THANKS_TAIL)
    return _unless_too_little_left(text, text[:cut] + INLINE_THANKS.sub("", text[cut:], count=1))


def _unless_too_little_left(text: str, stripped: str) -> str:
    """`stripped` when a request of `MIN_WORDS_LEFT` words remains in it, else `text` as it was."""
    return stripped if len(re.findall(r"\w+", stripped)) >= MIN_WORDS_LEFT else text
