"""Bundled demo data: a raw ticket sample derived from Bitext, with the ground truth of every defect."""
