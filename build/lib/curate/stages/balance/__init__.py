"""Splitting and rebalancing: stratified, duplicate-aware splits; under- and over-sampling."""
