"""The schema as SQLAlchemy ORM models; the Alembic migrations must agree with it.

Rules live in the schema, not only in Python: foreign keys, CHECK constraints on
every enum-like column and text length, and partial unique indexes for "one live
judgment per annotator per item" (both SQLite and PostgreSQL support them).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from store.validation import (
    KINDS,
    MAX_NAME_CHARS,
    MAX_TAG_CHARS,
    MAX_TEXT_CHARS,
    PHASES,
    PREFERENCE_VERDICTS,
    PROBE_KINDS,
    PROBE_SPLITS,
    RATING_VERDICTS,
    ROLES,
    RUN_STATUSES,
    STANDINGS,
    STATUSES,
    VERSION_MOVES,
)

LOGIN_OUTCOMES = ("succeeded", "failed", "throttled")  # throttled: refused without checking the password
MAX_LOGIN_NAME_CHARS = 255  # a name as typed at the login page is cut to this before it is recorded
MAX_ADDRESS_CHARS = 64  # an IPv6 address is at most 45 characters; a zone index may add a few

# Stable constraint names, so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}; give a timezone-aware one")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def text_length_ok(column: str, low: int = 1, high: int = MAX_TEXT_CHARS) -> str:
    return f"length({column}) BETWEEN {low} AND {high}"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON}


class Annotator(Base):
    __tablename__ = "annotators"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_CHARS), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))  # NULL: cannot log in
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint(one_of("role", ROLES), name="role"),
        CheckConstraint(text_length_ok("name", 1, MAX_NAME_CHARS), name="name_length"),
    )


class ModelVersion(Base):
    """A base model (ref + fingerprint), or a parent version plus a LoRA adapter."""

    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str | None] = mapped_column(String(500), unique=True)  # base versions only
    fingerprint: Mapped[str | None] = mapped_column(String(128))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"), index=True)
    adapter_path: Mapped[str | None] = mapped_column(Text)
    adapter_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # rejected: its run's verdict failed; it stays listed (and its adapter kept) but is not built on
    standing: Mapped[str] = mapped_column(String(16), server_default=text("'accepted'"))
    accepted_failed: Mapped[bool] = mapped_column(server_default=text("false"))  # accepted despite a failed verdict

    __table_args__ = (
        CheckConstraint(
            f"{one_of('standing', STANDINGS)} AND (standing = 'accepted' OR NOT accepted_failed)"
            " AND (parent_id IS NOT NULL OR standing = 'accepted')",
            name="standing",
        ),
        CheckConstraint(
            "(parent_id IS NULL AND ref IS NOT NULL AND adapter_path IS NULL"
            " AND adapter_sha256 IS NULL)"
            " OR (parent_id IS NOT NULL AND adapter_path IS NOT NULL"
            " AND length(adapter_sha256) = 64)",
            name="base_or_adapter",
        ),
    )


class Prompt(Base):
    __tablename__ = "prompts"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    # dedupe by text through its hash: a btree index on 20,000 characters would not fit a page
    text_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (CheckConstraint(text_length_ok("text"), name="text_length"),)


class PromptTag(Base):
    __tablename__ = "prompt_tags"

    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(MAX_TAG_CHARS), primary_key=True)

    __table_args__ = (
        Index("ix_prompt_tags_tag", "tag", "prompt_id"),
        CheckConstraint(text_length_ok("tag", 1, MAX_TAG_CHARS), name="tag_length"),
    )


class Generation(Base):
    """One output of one model version for one prompt, with the decoding settings used."""

    __tablename__ = "generations"

    id: Mapped[int] = mapped_column(primary_key=True)
    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id"))
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    decoding: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("prompt_id", "model_version_id", "text_sha256"),
        CheckConstraint(text_length_ok("text"), name="text_length"),
    )


class Judgment(Base):
    """The live state of one annotator's judgment; every state is also in judgment_history.

    The item judged is a generation (ratings, corrections) or an ordered pair of
    generations of the same prompt (preferences: generation_id is A, generation_b_id is B).
    """

    __tablename__ = "judgments"

    id: Mapped[int] = mapped_column(primary_key=True)
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"))
    kind: Mapped[str] = mapped_column(String(16))
    generation_id: Mapped[int] = mapped_column(ForeignKey("generations.id"))
    generation_b_id: Mapped[int | None] = mapped_column(ForeignKey("generations.id"))
    verdict: Mapped[str] = mapped_column(String(8))
    correction: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint(one_of("kind", KINDS), name="kind"),
        CheckConstraint(one_of("status", STATUSES), name="status"),
        CheckConstraint(
            f"({one_of('kind', ('rating', 'correction'))} AND {one_of('verdict', RATING_VERDICTS)})"
            f" OR (kind = 'preference' AND {one_of('verdict', PREFERENCE_VERDICTS)})",
            name="verdict",
        ),
        CheckConstraint(
            "(kind = 'preference' AND generation_b_id IS NOT NULL"
            " AND generation_b_id <> generation_id)"
            " OR (kind <> 'preference' AND generation_b_id IS NULL)",
            name="pair",
        ),
        CheckConstraint(
            f"(kind = 'correction' AND correction IS NOT NULL AND {text_length_ok('correction')})"
            " OR (kind <> 'correction' AND correction IS NULL)",
            name="correction",
        ),
        CheckConstraint(text_length_ok("note", 0), name="note_length"),
        CheckConstraint("version >= 1", name="version"),
        # the queue's "has this annotator judged it?" lookup, and the annotator FK's index. No index
        # on generation_id alone: generations are never deleted, and given one, PostgreSQL's planner
        # prefers merging along it to probing this one, which is a thousand times slower at 100k.
        Index("ix_judgments_annotator_generation", "annotator_id", "generation_id"),
        # preferences by their B side (the queue's lookup too); partial, so planner statistics
        # are not swamped by the NULLs of every rating
        Index(
            "ix_judgments_generation_b",
            "generation_b_id",
            "annotator_id",
            sqlite_where=text("generation_b_id IS NOT NULL"),
            postgresql_where=text("generation_b_id IS NOT NULL"),
        ),
        # one live judgment per annotator per item (NULLs are distinct, hence two indexes)
        Index(
            "uq_judgments_live_single",
            "annotator_id",
            "generation_id",
            unique=True,
            sqlite_where=text("generation_b_id IS NULL AND status <> 'discarded'"),
            postgresql_where=text("generation_b_id IS NULL AND status <> 'discarded'"),
        ),
        Index(
            "uq_judgments_live_pair",
            "annotator_id",
            "generation_id",
            "generation_b_id",
            unique=True,
            sqlite_where=text("generation_b_id IS NOT NULL AND status <> 'discarded'"),
            postgresql_where=text("generation_b_id IS NOT NULL AND status <> 'discarded'"),
        ),
    )


class JudgmentTag(Base):
    __tablename__ = "judgment_tags"

    judgment_id: Mapped[int] = mapped_column(ForeignKey("judgments.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(MAX_TAG_CHARS), primary_key=True)

    __table_args__ = (
        Index("ix_judgment_tags_tag", "tag", "judgment_id"),
        CheckConstraint(text_length_ok("tag", 1, MAX_TAG_CHARS), name="tag_length"),
    )


class JudgmentVersion(Base):
    """Every state a judgment has had, version 1 first: the audit trail."""

    __tablename__ = "judgment_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    judgment_id: Mapped[int] = mapped_column(ForeignKey("judgments.id"))
    version: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    verdict: Mapped[str] = mapped_column(String(8))
    correction: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("judgment_id", "version"),)


class ProbeSuite(Base):
    __tablename__ = "probe_suites"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    content_sha256: Mapped[str] = mapped_column(String(64))  # makes re-adding the same suite a no-op
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (CheckConstraint(text_length_ok("name", 1, 200), name="name_length"),)


class Probe(Base):
    """A prompt, the completion that must win (target) and the one that must lose (foil)."""

    __tablename__ = "probes"

    id: Mapped[int] = mapped_column(primary_key=True)
    suite_id: Mapped[int] = mapped_column(ForeignKey("probe_suites.id"))
    position: Mapped[int]  # order within the suite, as given
    key: Mapped[str] = mapped_column(String(200))  # the probe's id in its source file
    prompt: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(Text)
    foil: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    split: Mapped[str] = mapped_column(String(8))
    meta: Mapped[dict[str, Any] | None]  # the source's other fields (relation, subject, ...)

    __table_args__ = (
        UniqueConstraint("suite_id", "key"),
        CheckConstraint(one_of("kind", PROBE_KINDS), name="kind"),
        CheckConstraint(one_of("split", PROBE_SPLITS), name="split"),
        CheckConstraint(
            f"{text_length_ok('prompt')} AND {text_length_ok('target')} AND {text_length_ok('foil')}",
            name="text_length",
        ),
    )


class EditRun(Base):
    __tablename__ = "edit_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    spec_hash: Mapped[str] = mapped_column(String(128))
    data_hash: Mapped[str] = mapped_column(String(128))
    seed: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    metrics: Mapped[dict[str, Any] | None]
    base_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"), index=True)
    # the version this run produced; a version's run is found through this column
    result_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"), unique=True)
    host: Mapped[str] = mapped_column(String(255))  # who owns a running run: stale-run detection
    pid: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # the owner's last sign of life, renewed while it runs: how a reader on another host tells a dead run
    heartbeat_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(one_of("status", RUN_STATUSES), name="status"),
        CheckConstraint("length(spec_hash) >= 1 AND length(data_hash) >= 1", name="hashes"),
    )


class ProbeResult(Base):
    """One probe's scores in one phase of one run: mean token log-probs of target and foil."""

    __tablename__ = "probe_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("edit_runs.id"))
    probe_id: Mapped[int] = mapped_column(ForeignKey("probes.id"), index=True)
    phase: Mapped[str] = mapped_column(String(8))
    target_logprob: Mapped[float]
    foil_logprob: Mapped[float]
    target_greedy: Mapped[bool | None]  # the target is the model's greedy continuation
    continuation: Mapped[str | None] = mapped_column(Text)  # greedy text, for control probes

    __table_args__ = (
        UniqueConstraint("run_id", "probe_id", "phase"),
        CheckConstraint(one_of("phase", PHASES), name="phase"),
    )


class LoginAttempt(Base):
    """One try at logging in to the app, refused ones too: what login throttling counts, and the audit trail."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_LOGIN_NAME_CHARS))  # as typed (cut): unknown names are tried too
    address: Mapped[str | None] = mapped_column(String(MAX_ADDRESS_CHARS))  # the client's; NULL: not known
    outcome: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint(one_of("outcome", LOGIN_OUTCOMES), name="outcome"),
        # a name's tries from one address, and one address's tries: the two throttles' counts
        Index("ix_login_attempts_name_address_at", "name", "address", "at"),
        Index("ix_login_attempts_address_at", "address", "at"),
    )


class LoginUnlock(Base):
    """An admin lifted the login throttles on a name: its failed tries before `at` no longer count."""

    __tablename__ = "login_unlocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_CHARS))
    unlocked_by: Mapped[str] = mapped_column(String(MAX_NAME_CHARS))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_login_unlocks_name_at", "name", "at"),)


class CurrentModelVersion(Base):
    """The model version annotators label next: a single row, moved when an admin promotes a version."""

    __tablename__ = "current_model_version"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    set_by: Mapped[str] = mapped_column(String(MAX_NAME_CHARS))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)


class CurrentVersionChange(Base):
    """Every move of the current model version, promote or revert, oldest first: the ledger's history."""

    __tablename__ = "current_version_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(16))
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    previous_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    accepted_failed: Mapped[bool] = mapped_column(server_default=text("false"))  # this move accepted a rejected one
    set_by: Mapped[str] = mapped_column(String(MAX_NAME_CHARS))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (CheckConstraint(one_of("action", VERSION_MOVES), name="action"),)
