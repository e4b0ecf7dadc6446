"""Every file the library writes is written atomically: to a temporary file beside it, then
renamed into place. A crash, a Ctrl-C or a full disk midway leaves the previous version (or
nothing), never half a file -- so a resumed run always finds a readable checkpoint, and a
download that failed its check never sits at the name a user would trust.

    >>> write_atomically("song.mid", midi.write)      # any writer that takes a binary file
    >>> atomic_write("results.json", json.dumps(d))   # bytes or text

And a file the library did not write is never written over: ``refuse_to_overwrite`` is called
with every path a command is about to create, before it computes anything.
"""
from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from .checks import expand_user


class UnwritablePathError(ValueError, OSError):
    """A file cannot be created where it was asked for: its folder is missing, is a file, or
    cannot be written to. A ValueError, because the path is the caller's input (the command
    line turns it into one line), and an OSError, because that is what it is to code that
    already catches those around file writes."""


def _reason(err: OSError) -> str:
    """The OS's reason a folder that is there cannot be written to, as " (Permission denied)";
    nothing where that reason would mislead: a pseudo file system such as /proc answers "No
    such file or directory" for a folder that plainly exists."""
    if err.errno == errno.ENOENT or not (err.strerror or str(err)):
        return ""
    return f" ({err.strerror or err})"


def _unwritable(path: Path, err: OSError, what: str) -> UnwritablePathError:
    """The error for ``path``, naming its folder: the temporary file the OS complained about
    (".song.mid.x1y2.part") is ours, and its name would only mislead."""
    folder = path.parent
    if not folder.exists():
        why = "does not exist; create the folder first, or give a path in a folder you can " \
              "write to"
    elif not folder.is_dir():
        why = "is not a folder; give a path in a folder you can write to"
    else:
        why = f"cannot be written to{_reason(err)}; give a path in a folder you can write to"
    return UnwritablePathError(f"{what}: cannot write {str(path)!r}: its folder {str(folder)!r} "
                               f"{why}")


def _probe(folder: Path) -> OSError | None:
    """None if a file can be created in the existing ``folder`` (one is, under a hidden name no
    one else uses, and removed at once), else the OSError that said why not. os.access is not
    enough: root passes it everywhere, /proc included."""
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".gru_lib-check-", suffix=".part")
    except OSError as err:
        return err
    os.close(fd)
    os.unlink(tmp)
    return None


def make_folder(folder, what: str = "out") -> Path:
    """``folder`` created with its parents (if missing); UnwritablePathError naming it if it
    cannot be (a read-only place such as /proc, a file in the way), never a raw OSError."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        existing = next((p for p in folder.parents if p.is_dir()), None)
        where = "" if existing is None or err.errno != errno.ENOENT else \
            f": {str(existing)!r} cannot be written to"      # /proc: "No such file", yet there
        raise UnwritablePathError(f"{what}: cannot create the folder {str(folder)!r}"
                                  f"{where or _reason(err)}; give a path in a folder you can "
                                  f"write to") from None
    return folder


def check_creatable(path, what: str = "out") -> Path:
    """UnwritablePathError naming ``what`` now, before any work, if ``path`` plainly cannot be
    created: the nearest existing folder above it is not a folder, or no file can be created in
    it (tried: a hidden file is made there and removed at once; os.access would not do, since
    root passes it everywhere, and /proc lets no one write). Writing can still fail later (a
    full disk), with the same clear error from ``write_atomically`` / ``make_folder``."""
    path = Path(path)
    existing = next((p for p in path.parents if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise UnwritablePathError(f"{what}: cannot write {str(path)!r}: {str(existing)!r} is a "
                                  f"file, not a folder")
    if existing is None:
        return path
    err = _probe(existing)
    if err is not None and existing == path.parent:
        raise _unwritable(path, err, what)
    if err is not None:           # the folders to create would go in ``existing``
        raise UnwritablePathError(f"{what}: cannot create the folder {str(path.parent)!r} for "
                                  f"{str(path)!r}: {str(existing)!r} cannot be written "
                                  f"to{_reason(err)}; give a path in a folder you can write to")
    return path


def write_atomically(path, write, what: str = "path"):
    """Create ``path`` by calling ``write(f)`` on a temporary file beside it, then renaming.

    A crash or an exception midway leaves no half-written file at ``path``. A folder that is
    missing or cannot be written to is an UnwritablePathError naming it (``what``: the
    argument's name, for the message).
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as err:
        raise _unwritable(path, err, what) from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


def atomic_write(path, data: bytes | str) -> None:
    """Write ``data`` (bytes, or text as UTF-8) to ``path``, creating its folder, atomically."""
    path = Path(path)
    make_folder(path.parent, "path")
    payload = data.encode() if isinstance(data, str) else data
    write_atomically(path, lambda f: f.write(payload))


def refuse_to_overwrite(paths, what: str = "out") -> None:
    """ValueError if any of ``paths`` exists: a user's file at a name we were given (a typo in
    --out, README.md) must survive, and a file cannot say who wrote it, so none is replaced."""
    there = [str(p) for p in map(Path, paths) if p.exists()]
    if there:
        raise ValueError(f"{what}: {', '.join(repr(p) for p in there)} already "
                         f"{'exists' if len(there) == 1 else 'exist'}; gru_lib never writes over "
                         f"a file: give another name, or move {'it' if len(there) == 1 else 'them'} "
                         f"away first")


def writable_new_file(path, overwrite: bool = False, what: str = "path",
                      creates_folder: bool = False) -> Path:
    """``path`` as a Path, checked for a public writer such as ``save_midi``: not a folder, and
    not an existing file unless ``overwrite`` (the caller's own file, named on purpose); its
    folder must exist (checked now, before the work of making the file), unless the caller
    ``creates_folder`` itself, in which case it must be creatable (``check_creatable``)."""
    path = expand_user(path, what)
    if path.is_dir():
        raise ValueError(f"{what}: {str(path)!r} is a folder; give the name of the file to write")
    if not overwrite and path.exists():
        raise ValueError(f"{what}: {str(path)!r} already exists; gru_lib never writes over a "
                         f"file unless told to: give another name, or pass overwrite=True")
    if creates_folder:
        check_creatable(path, what)
    elif not path.parent.is_dir():
        raise _unwritable(path, FileNotFoundError(), what)
    return path


def refuse_a_file_in_the_path(path, what: str = "out") -> None:
    """ValueError if a part of ``path``'s folder is a file (nothing could be created there)."""
    path = Path(path)
    if any(parent.exists() and not parent.is_dir() for parent in path.parents):
        raise ValueError(f"{what}: cannot write {str(path)!r}: a part of its path is a file")


def set_aside(path) -> Path:
    """Rename ``path`` to ``<name>.rejected`` (or .rejected-2, ...) and return the new path: a
    file that fails its checks is moved out of the way of the one that replaces it, never
    deleted (it may be the user's). ValueError if 999 such copies already lie beside it."""
    path = Path(path)
    for i in range(1, 1000):
        new = path.with_name(path.name + (".rejected" if i == 1 else f".rejected-{i}"))
        if not new.exists():
            os.replace(path, new)
            return new
    raise ValueError(f"{path} fails its checks and too many rejected copies lie beside it; "
                     f"remove the {path.name}.rejected* files")
