"""Paths checked before anything runs (curate/io/paths.py): what the CLI corpus cannot make as root."""

import os

import pytest

from curate.core.errors import InputError
from curate.io.paths import check_input_file, check_writable


def test_an_unwritable_folder_is_refused(tmp_path, monkeypatch):
    """As root every folder is writable, so the refusal is shown with access denied."""
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(InputError, match="is not writable") as caught:
        check_writable(tmp_path / "new" / "run", "output")
    assert caught.value.where == "output" and str(tmp_path) in caught.value.message


def test_a_writable_path_passes_and_nothing_is_created(tmp_path):
    assert check_writable(tmp_path / "a" / "b" / "run", "output") == tmp_path / "a" / "b" / "run"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("special, says", [("/dev/null", "a device"), ("/dev/zero", "a device"), ("/proc", "a folder")])
def test_special_inputs_are_refused_before_they_are_opened(special, says):
    with pytest.raises(InputError, match=says):
        check_input_file(special)


@pytest.mark.timeout(10)
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "in.csv"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="FIFO"):
        check_input_file(fifo)


def test_a_symlink_to_a_file_is_read(tmp_path):
    (tmp_path / "t.csv").write_text("id,text\n1,a\n")
    (tmp_path / "link.csv").symlink_to(tmp_path / "t.csv")
    assert check_input_file(tmp_path / "link.csv") == tmp_path / "link.csv"
