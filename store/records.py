"""What the store's queries return: frozen dataclasses, never ORM objects or sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from store.errors import BadLine


@dataclass(frozen=True)
class Annotator:
    id: int
    name: str
    role: str  # annotator | admin
    active: bool  # a disabled annotator cannot log in or judge; their judgments stay
    has_password: bool  # accounts made by `--create-annotators` have none until one is set
    created_at: datetime


@dataclass(frozen=True)
class ModelVersion:
    """A base model (`ref` + `fingerprint`) or an edit of a parent version (an adapter)."""

    id: int
    ref: str | None  # path, hub id or `toyworld`; None for adapter versions
    fingerprint: str | None
    parent_id: int | None
    adapter_path: str | None
    adapter_sha256: str | None
    run_id: int | None  # the edit run that produced this version
    created_at: datetime
    standing: str  # accepted | rejected: a rejected version is kept for study but not built on or promoted
    accepted_failed: bool  # accepted although its run's verdict failed, because someone said so explicitly
    verdict: str | None  # its run's verdict (pass | fail | uncertain | none); None for a base or a hand-made version

    @property
    def is_base(self) -> bool:
        return self.parent_id is None

    @property
    def rejected(self) -> bool:
        return self.standing == "rejected"


@dataclass(frozen=True)
class CurrentVersionChange:
    """One move of the current model version: promoted to it, or reverted to it from `previous_version_id`."""

    action: str  # promote | revert
    model_version_id: int
    previous_version_id: int | None
    accepted_failed: bool  # this move accepted a rejected version
    set_by: str
    set_at: datetime


@dataclass(frozen=True)
class Prompt:
    id: int
    text: str
    source: str | None
    tags: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True)
class Generation:
    id: int
    prompt_id: int
    model_version_id: int
    text: str
    decoding: dict[str, Any] | None
    created_at: datetime


@dataclass(frozen=True)
class QueueItem:
    """One output waiting for an annotator's judgment."""

    generation_id: int
    prompt_id: int
    prompt: str
    output: str
    prompt_tags: tuple[str, ...]
    model_version_id: int
    model_ref: str | None
    decoding: dict[str, Any] | None


@dataclass(frozen=True)
class Judgment:
    """A judgment with what it is about. For a preference, `output` is A and `output_b` is B."""

    id: int
    annotator: str
    kind: str  # rating | correction | preference
    verdict: str  # up | down, or a | b | tie for preferences
    status: str  # draft | submitted | discarded
    prompt_id: int
    prompt: str
    generation_id: int
    output: str
    generation_b_id: int | None
    output_b: str | None
    correction: str | None
    note: str
    tags: tuple[str, ...]
    model_version_id: int
    model_ref: str | None
    decoding: dict[str, Any] | None
    version: int  # 1 when created, +1 per update; every version is in the history
    created_at: datetime
    updated_at: datetime

    @property
    def item(self) -> tuple[int, int | None]:
        """What was judged: (generation, None), or (A, B) for a preference."""
        return (self.generation_id, self.generation_b_id)


@dataclass(frozen=True)
class JudgmentVersion:
    """One state of a judgment, as it was at `recorded_at`."""

    judgment_id: int
    version: int
    kind: str
    verdict: str
    correction: str | None
    note: str
    tags: tuple[str, ...]
    status: str
    recorded_at: datetime


@dataclass(frozen=True)
class Progress:
    """How far one annotator is through the queue (optionally restricted to some tags)."""

    annotator: str
    active: bool
    submitted: int
    drafts: int
    discarded: int
    remaining: int  # outputs with no live judgment by this annotator
    last_activity: datetime | None


@dataclass(frozen=True)
class ImportReport:
    """What an import did. `skipped` is non-empty only with skip_bad."""

    source: str
    added: int  # new rows (prompts or judgments)
    existing: int  # prompts already present (their tags were merged)
    skipped: tuple[BadLine, ...]
    created_annotators: tuple[str, ...]


@dataclass(frozen=True)
class Probe:
    id: int
    key: str  # the probe's id in its source file, unique within the suite
    prompt: str
    target: str  # the completion that must win
    foil: str  # the completion that must lose
    kind: str  # edit | paraphrase | leak | control
    split: str  # train | val | test
    meta: dict[str, Any] | None


@dataclass(frozen=True)
class ProbeSuite:
    id: int
    name: str
    probes: tuple[Probe, ...]
    content_sha256: str
    created_at: datetime


@dataclass(frozen=True)
class EditRun:
    id: int
    name: str | None
    spec: dict[str, Any]
    spec_hash: str
    data_hash: str
    seed: int
    status: str  # queued | running | succeeded | failed | interrupted
    error: str | None
    metrics: dict[str, Any] | None
    base_version_id: int | None
    result_version_id: int | None
    host: str
    pid: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None  # the owner's last sign of life while the run was live

    @property
    def seconds(self) -> float | None:
        """Wall time from start to finish, once both are known."""
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class ProbeScore:
    """One probe's scores to record: mean token log-probs of its target and foil."""

    probe_id: int
    phase: str  # before | after
    target_logprob: float
    foil_logprob: float
    target_greedy: bool | None = None
    continuation: str | None = None


@dataclass(frozen=True)
class ProbeResult:
    run_id: int
    probe_id: int
    probe_key: str
    phase: str
    target_logprob: float
    foil_logprob: float
    target_greedy: bool | None
    continuation: str | None

    @property
    def margin(self) -> float:
        """log P(target) - log P(foil): positive when the target wins."""
        return self.target_logprob - self.foil_logprob


@dataclass(frozen=True)
class LoginAttempt:
    """One try at logging in, as recorded."""

    name: str  # as typed (cut to 255 characters); unknown names are recorded too
    address: str | None  # the client's address; None when the app did not say
    outcome: str  # succeeded | failed | throttled (refused without checking the password)
    at: datetime


@dataclass(frozen=True)
class LoginThrottle:
    """Logins are refused until `until`: too many failed tries for a name from one address, or from one address."""

    name: str | None  # None for an address's throttle, which holds for every name tried from it
    address: str | None
    scope: str  # name: this name from this address | address: any name from this address
    failures: int  # the failed tries that count towards it
    until: datetime  # tries before this moment are refused (and recorded as throttled)


@dataclass(frozen=True)
class LoginResult:
    """What one try at logging in came to; `throttle` says until when the next try will be refused."""

    outcome: str  # succeeded | failed | throttled
    throttle: LoginThrottle | None  # set when this try was refused, or when its failure started a throttle

    @property
    def succeeded(self) -> bool:
        return self.outcome == "succeeded"


@dataclass(frozen=True)
class LoginUnlock:
    """An admin lifted the login throttles on `name` at `at`."""

    name: str
    unlocked_by: str
    at: datetime
