"""curate's version, in a module of its own so that code inside the package (the runner's report) reads it without
importing the package's `__init__`, whose lazy `curate.run` imports the runner."""

__version__ = "0.1.0"
