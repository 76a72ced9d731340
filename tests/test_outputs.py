"""The one output mechanism (ddpm_theory.outputs): whole files or nothing, never a lost file."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import ddpm_theory.outputs as outputs
from ddpm_theory.outputs import OutputError, check_output_path, write_output, write_text_output


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_write_output_publishes_whole_file(tmp_path):
    p = write_text_output(tmp_path / "a.json", "{}\n")
    assert p.read_text() == "{}\n"
    assert _leftovers(tmp_path) == []


def test_no_overwrite_without_force_and_replace_with_force(tmp_path):
    target = tmp_path / "a.json"
    write_text_output(target, "old\n")
    with pytest.raises(FileExistsError, match="exists; pass force=True"):
        write_text_output(target, "new\n")
    assert target.read_text() == "old\n"
    write_text_output(target, "new\n", force=True)
    assert target.read_text() == "new\n"
    assert _leftovers(tmp_path) == []


def test_a_file_created_meanwhile_is_not_clobbered(tmp_path):
    """The check passes, then another process creates the file before publication: the
    hard-link publication refuses instead of overwriting it."""
    target = tmp_path / "a.bin"

    def write(f):
        f.write(b"mine")
        target.write_bytes(b"theirs")  # appears between the check and the publication

    with pytest.raises(FileExistsError):
        write_output(target, write)
    assert target.read_bytes() == b"theirs"
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("where", ["writer", "fsync"])
@pytest.mark.parametrize("exc", [KeyboardInterrupt(), RuntimeError("failed")])
@pytest.mark.parametrize("force", [False, True])
def test_interrupted_write_leaves_previous_file_and_no_partial(tmp_path, monkeypatch, exc,
                                                                force, where):
    """Interrupted while serialising, or after the bytes reached the temporary file (at
    fsync): the target keeps its previous content and no partial file remains."""
    target = tmp_path / "model.pt"
    if force:
        target.write_bytes(b"previous good file")

    def write(f):
        f.write(b"x" * 10_000)
        if where == "writer":
            raise exc

    def fsync(fd):
        assert os.fstat(fd).st_size == 10_000  # the partial file is on disk now
        raise exc

    if where == "fsync":
        monkeypatch.setattr(outputs.os, "fsync", fsync)
    with pytest.raises(type(exc)):
        write_output(target, write, force=force)
    if force:
        assert target.read_bytes() == b"previous good file"
    else:
        assert not target.exists()
    assert _leftovers(tmp_path) == []


def test_missing_folder_and_directory_are_refused_before_work(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist; create it first"):
        check_output_path(tmp_path / "nope" / "a.json")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        check_output_path(tmp_path)


def test_a_folder_that_refuses_files_is_found_before_work(tmp_path):
    """A folder that exists but takes no new file is reported by the probe before any work
    (skipped as root, whom a read-only mode does not stop)."""
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        if os.access(ro, os.W_OK) and os.geteuid() == 0:
            pytest.skip("running as root: a read-only mode does not stop root")
        with pytest.raises(OutputError, match="cannot create files in the folder"):
            check_output_path(ro / "a.json")
    finally:
        ro.chmod(0o755)


FSIZE_SCRIPT = textwrap.dedent("""
    import resource, sys
    from ddpm_theory.outputs import OutputError, write_output
    target, force = sys.argv[1], sys.argv[2] == "1"
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    try:
        write_output(target, lambda f: f.write(b"y" * 100_000), force=force)
    except OutputError as exc:
        print(exc)
        sys.exit(3)
""")


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
@pytest.mark.parametrize("force", [False, True])
def test_write_failing_under_file_size_limit(tmp_path, force):
    """A write that fails part-way (EFBIG past RLIMIT_FSIZE; Python ignores SIGXFSZ)
    names the path and the cause; the previous file is intact and nothing partial remains."""
    target = tmp_path / "out.npy"
    if force:
        target.write_bytes(b"previous")
    # -B: no bytecode written under the limit (a truncated .pyc would break later imports)
    r = subprocess.run([sys.executable, "-B", "-c", FSIZE_SCRIPT, str(target),
                        "1" if force else "0"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 3, r.stderr
    assert str(target) in r.stdout and "File too large" in r.stdout
    assert "Traceback" not in r.stderr
    if force:
        assert target.read_bytes() == b"previous"
    else:
        assert not target.exists()
    assert _leftovers(tmp_path) == []
