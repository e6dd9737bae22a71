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
# A thanks after the request on the same line: "... order 4521. Thanks!", "..., thank you so much"
INLINE_THANKS = re.compile(r"(?i)[\s,.;!-]+(?:many\s+)?(?:thanks|thank you|thx|cheers)(?:\s+(?:in advance|a lot|so much|again))?[\s.!]*\Z")
MIN_WORDS_LEFT = 3  # a greeting or thanks is removed only when a request of at least this many words remains
BLOCK_TAG = re.compile(r"(?i)<\s*(?:br|/p|/div|/li|/tr|/h[1-6]|p|div|li|tr)\b[^>]*>")
INVISIBLE = re.compile(r"[\u200b-\u200f\u2060\ufeff\u00ad]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def fix_unicode(text: str) -> str:
    """Repair mojibake (UTF-8 read as cp1252...), normalise to NFC and straighten curly quotes."""
    return ftfy.fix_text(text, normalization="NFC")


def html_to_text(text: str) -> str:
    """Turn an HTML fragment into text: block tags become line breaks, scripts and styles go."""
    from selectolax.lexbor import LexborHTMLParser

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
    for pattern in (GREETING, INLINE_GREETING, INLINE_THANKS):
        stripped = pattern.sub("", text, count=1)
        if len(re.findall(r"\w+", stripped)) >= MIN_WORDS_LEFT:
            text = stripped
    return text
