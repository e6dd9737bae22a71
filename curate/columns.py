"""Names of the columns that every stage relies on."""

ID = "id"
TEXT = "text"
LABEL = "label"
RESPONSE = "response"

# Columns of a rejected row, beside the row's own columns.
STAGE = "stage"
REASON = "reason"
DETAIL = "detail"

# Where a generated row came from (augmentation), and how it was made.
AUGMENTED_FROM = "augmented_from"
AUGMENT_METHOD = "augment_method"
