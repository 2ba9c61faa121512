"""How events share the server: reads run side by side, and store writes share one limit that suits the database.

Gradio runs at most `concurrency_limit` calls of an event at once and queues the rest, per event
unless events share a `concurrency_id`. A read (the next item, progress counts) never waits
behind another user's: SQLite in WAL mode and PostgreSQL both serve readers in parallel. Writes
share one id, so the app as a whole holds only a few transactions open: SQLite takes one writer
at a time (the store queues this process's writers fairly), so more would only wait in threads;
PostgreSQL locks rows, so it gets more.
"""

from __future__ import annotations

from typing import Any

from store import Store

DEFAULT_CONCURRENCY = 8  # any other event (the Edit, Reports and Team tabs): calls of one event at once
READS: dict[str, Any] = {"concurrency_limit": None}
STORE_WRITES = "store_writes"
SQLITE_WRITERS = 4  # one writes while the others run the reads of their handler (the next item)
POSTGRES_WRITERS = 16  # row locks: writers of different items do not wait for each other


def writes(store: Store) -> dict[str, Any]:
    """The event options of a handler that writes to `store`: one limit shared by all writing events."""
    limit = SQLITE_WRITERS if store.engine.dialect.name == "sqlite" else POSTGRES_WRITERS
    return {"concurrency_id": STORE_WRITES, "concurrency_limit": limit}
