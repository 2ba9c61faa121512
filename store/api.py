"""`Store`: one object over one database, with every query the CLI, the UI and `nudge apply` use.

The queries live in small modules by area (annotators, catalog, judgments, queue, stats,
io, probes, runs, versions); `Store` joins them and owns the engine. Sessions never leave store/.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from store import migrate
from store.annotators import Annotators
from store.catalog import Catalog
from store.db import create_engine, database_url, describe, driver_errors_as_store_errors, restrict_database_files
from store.errors import SchemaError, StoreError
from store.io import Transfer
from store.labelling import Labelling
from store.logins import Logins
from store.probes import Probes
from store.queue import Queue
from store.runs import Runs
from store.stats import Stats
from store.versions import Versions


class Store(Logins, Annotators, Catalog, Queue, Stats, Transfer, Probes, Runs, Labelling, Versions):
    """The nudge database. Open with `Store.open()`; create or upgrade with `Store.init_db()`."""

    @classmethod
    def open(cls, url: str | URL | None = None, *, workspace: Path | None = None) -> Store:
        """Open an existing database ($NUDGE_DB, else the workspace's SQLite file) at head.

        `workspace` is the folder the paths the store keeps are relative to (store.paths); by default
        `nudge_home()`, the workspace this process works in.
        """
        url = make_url(url or database_url())
        if url.get_backend_name() == "sqlite" and url.database and not os.path.exists(url.database):
            raise SchemaError(f"no nudge database at {url.database}; create it with `nudge init`")
        engine = create_engine(url)
        try:
            with driver_errors_as_store_errors(url):
                current, head = migrate.current_revision(engine), migrate.SCHEMA_REVISION
        except StoreError:
            engine.dispose()
            raise
        if current != head:
            engine.dispose()
            if current is None:
                raise SchemaError(f"no nudge database at {describe(url)}; create it with `nudge init`")
            raise SchemaError(
                f"the database at {describe(url)} is at schema revision {current}, this nudge needs {head}; "
                "run `nudge init` to upgrade it (or install the nudge that made it)"
            )
        return cls(engine, workspace)

    @classmethod
    def init_db(cls, url: str | URL | None = None, *, workspace: Path | None = None) -> Store:
        """Create the database, or upgrade it to the newest schema, and open it.

        An SQLite database is made owner-only (0600), also one that an older nudge left readable.
        """
        engine = create_engine(url or database_url())
        restrict_database_files(engine.url)
        try:
            with driver_errors_as_store_errors(engine.url):
                migrate.upgrade(engine)
        finally:
            engine.dispose()
        return cls.open(url, workspace=workspace)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
