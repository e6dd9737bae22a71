"""Augmentation: generate rows for small classes, and check every candidate before it is kept."""
