"""Names of the columns (and artifacts) that travel between stages, the run directory, the explorer and the reports.

A column that more than one module reads or writes is named here, never as a bare string elsewhere.
"""

ID = "id"
TEXT = "text"
LABEL = "label"
RESPONSE = "response"
TEXT_BEFORE_CLEAN = "text_before_clean"  # on rows `clean` emptied: what came in, redacted
SOURCE_LINE = "source_line"  # the input file's line (or row) a record came from
MESSAGES = "messages"  # a conversation's messages, whole, as JSON text (curate/core/messages.py)

# Columns of a rejected row, beside the row's own columns.
STAGE = "stage"
REASON = "reason"
DETAIL = "detail"

# Where a generated row came from (augmentation), how it was made, and how close it stayed to its source.
AUGMENTED_FROM = "augmented_from"
AUGMENT_METHOD = "augment_method"
AUGMENT_SIMILARITY = "augment_similarity"
# how much less likely a generated row is than its source under a small causal LM, in nats per source token
AUGMENT_FLUENCY_GAP = "augment_fluency_gap"

# Flags and scores that stages leave on kept rows.
PII = "pii"  # the kinds of PII redacted in the row
PII_TURNS = "pii_turns"  # in a conversation, which messages redact changed: `message 2 (user): EMAIL`
QUALITY_FLAGS = "quality_flags"
RESPONSE_FLAGS = "response_flags"  # the response checks that fired on a kept row (stage `responses`)
TOKENS = "tokens"  # an example's tokens with the target model's tokenizer (stage `tokens`)
TOKEN_FLAGS = "token_flags"
LABEL_FLAGS = "label_flags"
LABEL_ISSUE = "label_issue"
LABEL_SUGGESTED = "label_suggested"
LABEL_QUALITY = "label_quality"
SAMPLE_WEIGHT = "sample_weight"  # rebalance {fill: weight}: how much a row counts in a weighted loss
LABEL_CONFIRMED = "label_issue_confirmed"  # a second, different model suggests the same label
IDENTITY_TERMS = "identity_terms"
TOXIC = "toxic"

# Duplicate clusters.
CLUSTER = "cluster"
SIMILARITY = "similarity"
DUPLICATE_OF = "duplicate_of"
LABEL_CONFLICT = "label_conflict"
LABEL_BEFORE_DEDUP = "label_before_dedup"

# Splits.
SPLIT = "split"
SPLIT_GROUP = "split_group"
TRAIN, VALIDATION, TEST = "train", "validation", "test"

# Artifacts a run writes beside its rows: frames as <name>.parquet, dicts as <name>.json.
CLUSTERS_ARTIFACT = "clusters"
GATE_ARTIFACT = "gate"
AUGMENT_DROPPED_ARTIFACT = (
    "augment_dropped"  # candidates augmentation generated and its checks dropped, with the reason
)

# A reviewer's decisions, applied by the review stage (curate/stages/review.py).
REVIEW_DECISION = "review_decision"  # what the reviewer decided about the row: keep, reject, relabel
REVIEW_KEEP = "review_keep"  # the executor puts such a row back whenever a later stage rejects it
LABEL_BEFORE_REVIEW = "label_before_review"
REVIEW_BAD_GENERATIONS = "review_bad_generations"  # texts generated from this row that a reviewer marked bad
