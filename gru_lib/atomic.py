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

import os
import tempfile
from pathlib import Path


def write_atomically(path, write):
    """Create ``path`` by calling ``write(f)`` on a temporary file beside it, then renaming.

    A crash or an exception midway leaves no half-written file at ``path``.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
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
    path.parent.mkdir(parents=True, exist_ok=True)
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


def writable_new_file(path, overwrite: bool = False, what: str = "path") -> Path:
    """``path`` as a Path, checked for a public writer such as ``save_midi``: not a folder, and
    not an existing file unless ``overwrite`` (the caller's own file, named on purpose)."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise ValueError(f"{what}: {str(path)!r} is a folder; give the name of the file to write")
    if not overwrite and path.exists():
        raise ValueError(f"{what}: {str(path)!r} already exists; gru_lib never writes over a "
                         f"file unless told to: give another name, or pass overwrite=True")
    return path


def refuse_a_file_in_the_path(path, what: str = "out") -> None:
    """ValueError if a part of ``path``'s folder is a file (nothing could be created there)."""
    path = Path(path)
    if any(parent.exists() and not parent.is_dir() for parent in path.parents):
        raise ValueError(f"{what}: cannot write {str(path)!r}: a part of its path is a file")
