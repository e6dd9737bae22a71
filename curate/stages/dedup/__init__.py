"""Duplicate detection: exact, MinHash-LSH near duplicates and semantic duplicates, sharing one
cluster-and-keep step (`clusters.py`)."""
