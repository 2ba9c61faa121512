"""How events share the server: reads run side by side, and store writes share one limit that suits the database.

Every event of the app declares whether it reads or writes (feedback_ui.events.listen). Gradio runs
at most `concurrency_limit` calls of an event at once and queues the rest, per event unless events
share a `concurrency_id`. A read (the next item, progress counts, a report) never waits behind
another user's: SQLite in WAL mode and PostgreSQL both serve readers in parallel. Writes share one
id, so the app as a whole holds only a few transactions open: SQLite takes one writer at a time
(the store queues this process's writers fairly), so more would only wait in threads; PostgreSQL
locks rows, so it gets more.
"""

from __future__ import annotations

from typing import Any, Literal

from store import Store

Access = Literal["read", "write"]

DEFAULT_CONCURRENCY = 8  # the queue's default, for an event that declares neither (none of the app's)
STORE_WRITES = "store_writes"
SQLITE_WRITERS = 4  # one writes while the others run the reads of their handler (the next item)
POSTGRES_WRITERS = 16  # row locks: writers of different items do not wait for each other


def concurrency(store: Store, access: Access) -> dict[str, Any]:
    """The event options of a handler that reads or writes `store`: no limit on reads, one shared limit on writes."""
    if access == "read":
        return {"concurrency_limit": None}
    limit = SQLITE_WRITERS if store.engine.dialect.name == "sqlite" else POSTGRES_WRITERS
    return {"concurrency_id": STORE_WRITES, "concurrency_limit": limit}
