"""curate: curation and augmentation of support-ticket datasets for fine-tuning."""

__version__ = "0.1.0"
