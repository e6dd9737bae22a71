"""`python -m curate`: the `curate` command, for environments where the script is not on PATH."""

from curate.cli.main import app

if __name__ == "__main__":
    app(prog_name="curate")
