"""What annotators label next and how their labels are read: the current model version (moved by promote and
revert, see store.versions), prompts it has not answered, a label's kind, and the prompts a run sends back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import exists, select

from store import models as m
from store.catalog import add_prompt_tags, load_version, prompt_ids, prompt_record, prompt_tags
from store.errors import DuplicateJudgment, InvalidInput, NotFound
from store.judgments import Judgments
from store.records import Judgment, ModelVersion, Prompt
from store.validation import check_tags, check_text

FOLLOWUP_TAG = "followup"
# A report's probe findings that ask for a second look (report.json's `probes[].finding`): the old
# behaviour came back through a side door, the model still says the old answer, a control was damaged.
FOLLOWUP_FINDINGS = ("leak", "says old", "damaged")


def label_kind(verdict: str | None, correction: str | None) -> tuple[str, str, str | None]:
    """A label of one output as (kind, verdict, correction).

    Written correction text (blank counts as none) makes it a correction; a correction without a
    verdict says the output was not what it should have been, so its verdict is "down".
    """
    text = (correction or "").strip() or None
    if verdict is None:
        if text is None:
            raise InvalidInput("a label needs a verdict (up or down) or a correction; give one of them")
        verdict = "down"
    return ("correction" if text else "rating"), verdict, text


def followup_prompts(report: Mapping[str, Any]) -> list[str]:
    """The prompts a run's report (its report.json, read) asks annotators to judge again, once each:
    its probes with a finding in FOLLOWUP_FINDINGS, then the generations the edit changed."""
    prompts = [row["prompt"] for row in report["probes"] if row["finding"] in FOLLOWUP_FINDINGS]
    prompts += [g["prompt"] for g in report["generations"] if g["before"] != g["after"]]
    return list(dict.fromkeys(p for p in prompts if p.strip()))


def followup_tags(run_id: int) -> tuple[str, str]:
    """The tags of the prompts run `run_id` sends to labelling: `followup` and `run-<id>`."""
    return FOLLOWUP_TAG, f"run-{run_id}"


class Labelling(Judgments):
    def current_model_version(self) -> ModelVersion | None:
        """The promoted version, or None while nobody has promoted one (the app then labels its base model)."""
        with self._read() as session:
            version_id = session.scalar(select(m.CurrentModelVersion.model_version_id))
            return None if version_id is None else load_version(session, version_id)

    def prompts_without_output(
        self, version_id: int, tags: Sequence[str] | None = None, limit: int | None = None
    ) -> list[Prompt]:
        """Prompts (with any of `tags`) that have no output of version `version_id` yet, oldest first."""
        scope = check_tags(tags)
        query = (
            select(m.Prompt)
            .where(~exists().where(m.Generation.prompt_id == m.Prompt.id, m.Generation.model_version_id == version_id))
            .order_by(m.Prompt.id)
            .limit(limit)
        )
        if scope:
            query = query.where(exists().where(m.PromptTag.prompt_id == m.Prompt.id, m.PromptTag.tag.in_(scope)))
        with self._read() as session:
            load_version(session, version_id)
            rows = list(session.scalars(query))
            tags_of = prompt_tags(session, [r.id for r in rows])
            return [prompt_record(r, tags_of.get(r.id, ())) for r in rows]

    def prompt_tag_names(self) -> list[str]:
        """Every tag some prompt carries, sorted: what an annotator picks tags from."""
        with self._read() as session:
            return list(session.scalars(select(m.PromptTag.tag).distinct().order_by(m.PromptTag.tag)))

    def label_output(
        self,
        annotator: str,
        generation_id: int,
        verdict: str | None,
        correction: str | None = None,
        *,
        note: str = "",
        tags: Sequence[str] | None = None,
        status: str = "submitted",
        judgment_id: int | None = None,
    ) -> Judgment:
        """Record `annotator`'s label of one output: its kind and verdict as `label_kind` reads them.

        An annotator keeps one live judgment per output, so the label updates `judgment_id` (one
        they reopened), else the live judgment a second click or another tab of theirs already
        made, and only otherwise adds a new one. `tags` None: a new judgment takes the prompt's
        tags, an updated one keeps its own.
        """
        kind, verdict, correction = label_kind(verdict, correction)
        if judgment_id is None:
            try:
                return self.submit_judgment(
                    annotator, generation_id, kind, verdict, correction=correction, note=note, tags=tags, status=status
                )
            except DuplicateJudgment:
                live = self.live_judgment(annotator, generation_id)
                if live is None:
                    raise
                judgment_id = live.id
        return self.update_judgment(
            annotator, judgment_id, kind=kind, verdict=verdict, correction=correction, note=note, tags=tags,
            status=status,
        )  # fmt: skip

    def add_followup_prompts(self, run_id: int, report: Mapping[str, Any]) -> list[Prompt]:
        """Add the prompts run `run_id`'s report asks to judge again (`followup_prompts`), tagged with
        `followup_tags`, in the report's order; prompts already stored gain the tags."""
        texts = followup_prompts(report)
        for text in texts:
            check_text(text, "prompt")
        with self._write() as session:
            run = session.get(m.EditRun, run_id)
            if run is None:
                raise NotFound(f"no edit run {run_id}; `nudge runs list` shows the runs")
            if run.result_version_id is None:
                raise InvalidInput(f"run {run_id} made no model version; there is nothing to label")
            ids = prompt_ids(session, self.engine, dict.fromkeys(texts))
            add_prompt_tags(session, self.engine, [(ids[t], tag) for t in texts for tag in followup_tags(run_id)])
            tags_of = prompt_tags(session, ids.values())
            return [prompt_record(session.get_one(m.Prompt, ids[t]), tags_of.get(ids[t], ())) for t in texts]
