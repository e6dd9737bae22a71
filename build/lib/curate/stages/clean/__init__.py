"""Text cleaning (unicode, HTML, quoted replies, signatures, whitespace) and PII redaction."""
