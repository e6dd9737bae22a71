"""The stages a recipe names. A stage imports only `curate.core` (and `curate.train` for the train
stage): never io, recipe, run, cli or apps, so it runs the same wherever an executor puts it."""
