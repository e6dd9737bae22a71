"""Reading raw rows in (CSV, JSONL, Parquet, OpenAI chat JSONL) and writing datasets out."""
