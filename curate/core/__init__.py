"""What every layer shares: column names, user-facing errors, the stage contract, the run context,
the PII finder and sentence embeddings."""
