"""Fine-tune and evaluate: a small, readable training runner (classification), and raw-vs-curated comparison."""
