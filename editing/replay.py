"""Replay: an edit of an edited version trains on the earlier edits' examples too, so it keeps them.

An edit trained on its own examples alone, on top of the versions that earlier
edits made, drifts them away: measured on the toy world, after five capital
changes in a row the model answered every capital question with the newest
city. Training the earlier edits' examples alongside the new ones holds them in
place. Where a later edit speaks about the same prompt, the later one wins: an
edit that changes a fact twice trains only its newest answer.
"""

from __future__ import annotations

from dataclasses import replace

from editing.training_data import TrainingExample

REPLAY_SOURCE = "replay:"  # prefix of a replayed example's `source`: where it came from stays visible


def replayed_examples(
    current: list[TrainingExample], earlier: list[tuple[int, list[TrainingExample]]]
) -> tuple[list[TrainingExample], int]:
    """The earlier edits' examples the new edit keeps, and how many a later edit superseded.

    `earlier` holds (run id, that run's examples) oldest first. An earlier example is
    superseded when a later edit (or the current one) has an example with its prompt.
    """
    claimed = {e.prompt for e in current}
    kept_newest_first: list[list[TrainingExample]] = []
    superseded = 0
    for run_id, examples in reversed(earlier):
        kept = [e for e in examples if e.prompt not in claimed]
        superseded += len(examples) - len(kept)
        kept_newest_first.append([replace(e, source=f"{REPLAY_SOURCE}{run_id}:{e.source}") for e in kept])
        claimed |= {e.prompt for e in examples}
    return [e for run_examples in reversed(kept_newest_first) for e in run_examples], superseded
