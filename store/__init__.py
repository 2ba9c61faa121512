"""nudge's store: judgments, probes and edit runs in SQLite (default) or PostgreSQL.

    from store import Store
    store = Store.open()              # $NUDGE_DB, else $NUDGE_HOME/nudge.db
    item = store.next_item_for("alice", tags=["dog-cat"])

See docs/store.md for the tables, the query API and the file formats.
"""

from store.agreement import AgreementReport, PairAgreement
from store.api import Store
from store.errors import (
    AlreadyExists,
    BadInputFile,
    BadLine,
    DatabaseDamaged,
    DatabaseUnavailable,
    DuplicateJudgment,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    SchemaError,
    StoreError,
    VersionRejected,
)
from store.records import (
    Annotator,
    CurrentVersionChange,
    EditRun,
    Generation,
    ImportReport,
    Judgment,
    JudgmentVersion,
    LoginAttempt,
    LoginResult,
    LoginThrottle,
    LoginUnlock,
    ModelVersion,
    Probe,
    ProbeResult,
    ProbeScore,
    ProbeSuite,
    Progress,
    Prompt,
    QueueItem,
)
from store.validation import MAX_TEXT_CHARS

__all__ = [
    "MAX_TEXT_CHARS",
    "AgreementReport",
    "AlreadyExists",
    "Annotator",
    "BadInputFile",
    "BadLine",
    "CurrentVersionChange",
    "DatabaseDamaged",
    "DatabaseUnavailable",
    "DuplicateJudgment",
    "EditRun",
    "Generation",
    "ImportReport",
    "InvalidInput",
    "InvalidTransition",
    "Judgment",
    "JudgmentVersion",
    "LoginAttempt",
    "LoginResult",
    "LoginThrottle",
    "LoginUnlock",
    "ModelVersion",
    "NotFound",
    "PairAgreement",
    "PermissionDenied",
    "Probe",
    "ProbeResult",
    "ProbeScore",
    "ProbeSuite",
    "Progress",
    "Prompt",
    "QueueItem",
    "SchemaError",
    "Store",
    "StoreError",
    "VersionRejected",
]
