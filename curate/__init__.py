"""curate: curation and augmentation of support-ticket datasets for fine-tuning.

`curate.run(recipe, input=None, output=None)` and `curate.load_run(path)` are the Python API
(imported on first use, so `import curate` stays light). What the library logs goes to the `curate` logger, silent
until the application configures logging (the CLI shows it on its console)."""

import logging

from curate._version import __version__ as __version__

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["Run", "load_run", "run"]


def __getattr__(name: str):
    if name in __all__:
        from curate import api

        return getattr(api, name)
    raise AttributeError(f"module 'curate' has no attribute {name!r}")
