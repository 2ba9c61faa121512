"""Outputs generated on demand when annotators' queues run dry: everyone waiting at once shares one batch.

A forward pass over 8 prompts costs about what one over 1 does, so annotators who run out in the
same moment should not each start their own. The first to ask waits a moment (`GATHER_S`) for
others, then generates for all of them in one `generate_outputs` call; whoever asks while that
batch runs joins the next one, which starts when the model is free again (group commit).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from editing.generation import ModelCache, generate_outputs
from store import Store

GENERATE_AHEAD = 8  # prompts answered per annotator waiting: a few items of queue each
MAX_BATCH = 32  # prompts per call (one forward pass), however many wait, so no one waits on a huge batch
GATHER_S = 0.05  # how long the first to run dry waits for others; small next to a forward pass


@dataclass
class _Batch:
    """One batched generation and the annotators waiting on it."""

    waiting: int = 0
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class OnDemandOutputs:
    """Fills a model version's missing outputs for whoever waits; shared by all requests of one app."""

    def __init__(self, store: Store, models: ModelCache) -> None:
        self.store = store
        self.models = models
        self._lock = threading.Lock()
        self._gathering: dict[int, _Batch] = {}  # per version: the batch that annotators can still join
        self._running: dict[int, threading.Lock] = {}  # per version: held while one batch generates

    def fill(self, version_id: int) -> None:
        """Generate outputs of `version_id` for prompts that have none, in a batch shared with others waiting.

        Returns when that batch is stored (possibly having generated nothing, when no prompt is left);
        raises what generation raised, in every annotator's request that waited on it.
        """
        with self._lock:
            batch = self._gathering.get(version_id)
            leads = batch is None
            if batch is None:
                batch = self._gathering[version_id] = _Batch()
                self._running.setdefault(version_id, threading.Lock())
            batch.waiting += 1
        if leads:
            self._lead(version_id, batch)
        else:
            batch.done.wait()
        if batch.error is not None:
            raise batch.error

    def _lead(self, version_id: int, batch: _Batch) -> None:
        time.sleep(GATHER_S)
        with self._running[version_id]:  # the batch stays open to joiners until the model is ours
            with self._lock:
                del self._gathering[version_id]
                wanted = min(MAX_BATCH, GENERATE_AHEAD * batch.waiting)
            try:
                ids = [p.id for p in self.store.prompts_without_output(version_id, limit=wanted)]
                if ids:
                    generate_outputs(self.store, version_id, prompt_ids=ids, batch_size=wanted, models=self.models)
            except BaseException as error:
                batch.error = error
            finally:
                batch.done.set()
