"""WordNet for nltk, offline: built from Debian's `wordnet-base` (Princeton WordNet 3.0).

nltk cannot read /usr/share/wordnet in place (it wants `corpora/wordnet/` and a `lexnames` file
the Debian package lacks), so we copy the database into `<venv>/nltk_data/corpora/wordnet/`,
a folder nltk searches by default, and write `lexnames` from the package's own manual page.
Nothing is downloaded.

    python -m curate.stages.augment.wordnet_data --install
"""

from __future__ import annotations

import argparse
import gzip
import re
import shutil
import sys
from pathlib import Path

from curate.core.extras import require

DEBIAN_WORDNET = Path("/usr/share/wordnet")
LEXNAMES_MANPAGE = Path("/usr/share/man/man5/lexnames.5WN.gz")
POS_NUMBER = {"adj": 3, "adv": 4, "noun": 1, "verb": 2}
INSTALL_HINT = "install it once with `sudo apt-get install -y wordnet-base wordnet-sense-index`, then run `make setup`"


def nltk_data_dir() -> Path:
    return Path(sys.prefix) / "nltk_data"


def lexnames_lines(manpage: Path = LEXNAMES_MANPAGE) -> list[str]:
    """The 45 lexicographer file names, as `NN\\tname\\tpos-number` lines."""
    text = gzip.decompress(manpage.read_bytes()).decode("utf-8", errors="replace")
    entries = re.findall(r"(?m)^(\d\d)\t([a-z]+\.[A-Za-z]+)", text)
    return [f"{number}\t{name}\t{POS_NUMBER[name.split('.')[0]]}" for number, name in entries]


def install(target: Path | None = None) -> Path:
    """Copy Debian's WordNet where nltk looks; return the corpus folder."""
    corpus = (target or nltk_data_dir()) / "corpora" / "wordnet"
    if not DEBIAN_WORDNET.is_dir():
        raise FileNotFoundError(f"{DEBIAN_WORDNET} is missing: {INSTALL_HINT}")
    corpus.mkdir(parents=True, exist_ok=True)
    for file in DEBIAN_WORDNET.iterdir():
        if file.is_file():
            shutil.copyfile(file, corpus / file.name)
    lines = lexnames_lines()
    if len(lines) != 45:
        raise RuntimeError(f"expected 45 lexicographer files in {LEXNAMES_MANPAGE}, found {len(lines)}")
    (corpus / "lexnames").write_text("\n".join(lines) + "\n")
    (corpus / "LICENSE").write_text(
        "WordNet 3.0 (c) Princeton University, under the WordNet license; copied from Debian's wordnet-base.\n"
    )
    return corpus


def wordnet():
    """nltk's WordNet reader, or a clear error saying how to set the data up."""
    require("synonym augmentation (WordNet through nltk)", "nltk")
    import nltk

    for base in (nltk_data_dir(),):
        if str(base) not in nltk.data.path:
            nltk.data.path.append(str(base))
    from nltk.corpus import wordnet as wn

    try:
        wn.ensure_loaded()
    except LookupError:
        raise RuntimeError(f"WordNet data for nltk is not set up: {INSTALL_HINT}") from None
    return wn


def main() -> None:
    parser = argparse.ArgumentParser(description="Set up WordNet for nltk from Debian's package.")
    parser.add_argument("--install", action="store_true")
    parser.add_argument("--target", type=Path, default=None)
    args = parser.parse_args()
    if args.install:
        print(f"WordNet ready in {install(args.target)}")
    wn = wordnet()
    print(f"wn.synsets('refund') -> {len(wn.synsets('refund'))} synsets")


if __name__ == "__main__":
    main()
