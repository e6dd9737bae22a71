"""Running a recipe: the local executor (stages, conservation, reports), the runner (ingest to run
directory) and the human report."""
