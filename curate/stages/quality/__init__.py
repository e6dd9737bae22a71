"""Quality, label and bias checks: score every row, keep the scores as columns, drop or flag with a reason."""
