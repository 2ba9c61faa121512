"""Owner-only folders and files: the workspace holds password hashes, judgments and adapters.

Folders nudge creates are 0700 and files 0600, whatever the umask. A folder or file
that already exists keeps its mode unless `restrict_to_owner` is asked to tighten it
(a user's own NUDGE_HOME=~/work is theirs to share).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def make_private_dir(path: str | os.PathLike[str]) -> Path:
    """Create folder `path` and any missing parents, each 0700; return it. An existing folder stays as it is."""
    folder = Path(path)
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for created in reversed(missing):
        try:
            os.mkdir(created, PRIVATE_DIR_MODE)
        except FileExistsError:
            continue  # made by someone else meanwhile: theirs, leave its mode
        os.chmod(created, PRIVATE_DIR_MODE)  # an umask such as 0o277 would have taken the owner's bits
    return Path(path)


def create_private_file(path: str | os.PathLike[str]) -> bool:
    """Create an empty file 0600 at `path` unless one is there; True when it was created."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return False
    try:
        os.fchmod(descriptor, PRIVATE_FILE_MODE)
    finally:
        os.close(descriptor)
    return True


def write_private_text(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` (UTF-8) to `path`, a file only its owner can read, from its first byte on."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    os.fchmod(descriptor, PRIVATE_FILE_MODE)  # an existing file keeps its old mode through O_CREAT
    with open(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def restrict_to_owner(path: str | os.PathLike[str]) -> None:
    """Make a file 0600, or a folder 0700 with everything in it 0700/0600 (e.g. an adapter a library wrote).

    Symbolic links are left alone: their targets are not ours to change.
    """
    top = Path(path)
    if top.is_symlink():
        return
    if not top.is_dir():
        os.chmod(top, PRIVATE_FILE_MODE)
        return
    os.chmod(top, PRIVATE_DIR_MODE)
    for folder, subfolders, files in os.walk(top):
        for name in subfolders + files:
            entry = Path(folder, name)
            mode = os.lstat(entry).st_mode
            if stat.S_ISDIR(mode):
                os.chmod(entry, PRIVATE_DIR_MODE)
            elif stat.S_ISREG(mode):
                os.chmod(entry, PRIVATE_FILE_MODE)
