"""Paths the store keeps (adapters, reports) are relative to the workspace, so a workspace can be copied or moved.

On write, a path inside the workspace is kept relative to it (callers may give it absolute, or already
relative to the workspace); a path outside it is refused, naming both. On read, a kept path is resolved
against the workspace the store was opened in. A path kept absolute (written by a nudge before this rule,
outside the workspace its database then lay in) is handed back as it is.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

from sqlalchemy.orm import Session, object_session

from store.errors import InvalidInput

WORKSPACE_INFO = "workspace"  # the key under which a session carries its store's workspace (Session.info)


def workspace_folder(workspace: str | os.PathLike[str]) -> Path:
    """`workspace` as an absolute folder path with symbolic links resolved, as `nudge_home()` gives it."""
    return Path(workspace).expanduser().resolve()


def kept_path(path: str | os.PathLike[str], workspace: Path, what: str) -> str:
    """`path` as the store keeps it: relative to `workspace`, with `/` separators.

    A relative `path` is taken as relative to the workspace already. InvalidInput when it lies outside.
    """
    given = os.fspath(path)
    if not os.path.isabs(given):
        relative = posixpath.normpath(Path(given).as_posix())
        if relative == ".." or relative.startswith("../"):
            raise _outside(what, given, workspace)
        return relative
    for candidate in (Path(os.path.normpath(given)), Path(given).resolve()):
        if candidate.is_relative_to(workspace):
            return candidate.relative_to(workspace).as_posix()
    raise _outside(what, given, workspace)


def _outside(what: str, path: str, workspace: Path) -> InvalidInput:
    return InvalidInput(
        f"{what} {path} is outside the workspace {workspace}; the store keeps paths inside its workspace only, "
        "so that the workspace can be moved: save the file under the workspace, or point NUDGE_HOME at the "
        "workspace it lies in"
    )


def resolved_path(kept: str, workspace: Path) -> str:
    """A kept path as a path on this machine: a relative one under `workspace`, an absolute one as it is."""
    if os.path.isabs(kept):
        return kept
    return str(workspace / kept)


def session_workspace(session: Session) -> Path:
    """The workspace of the store that opened `session` (StoreBase puts it in the session's info)."""
    return session.info[WORKSPACE_INFO]


def workspace_of(row: object) -> Path:
    """The workspace of the store whose session loaded `row` (an ORM row, still attached)."""
    session = object_session(row)
    if session is None:
        raise ValueError(f"{row!r} is detached from its session; read its paths while the session is open")
    return session_workspace(session)
