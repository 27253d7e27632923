"""Staging files and folders for atomic writes, with the permissions of a normal write.

`tempfile.mkdtemp` and `mkstemp` create 0700 folders and 0600 files (private scratch space); a
model folder or checkpoint renamed into place from them would stay private. These helpers give
them what `mkdir` and `open` would: 0777 and 0666 less the process's umask (0755, 0644 usually).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return mask


def staging_dir(beside: Path) -> Path:
    """A fresh folder next to `beside` (same file system, so a rename into place is atomic)."""
    folder = Path(tempfile.mkdtemp(dir=beside.parent, prefix=f".{beside.name}-"))
    folder.chmod(0o777 & ~_umask())
    return folder


def staging_file(beside: Path) -> tuple[int, Path]:
    """An open file descriptor and path of a fresh file next to `beside`."""
    handle, path = tempfile.mkstemp(dir=beside.parent, prefix=f".{beside.name}-")
    os.chmod(path, 0o666 & ~_umask())
    return handle, Path(path)
