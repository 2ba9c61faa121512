"""quiet_dependencies(): no warning or progress bar from the libraries nudge calls reaches the user's terminal.

transformers, peft and torch warn about their own deprecations (peft reading
transformers' deprecated `is_gradient_checkpointing` on every apply, say) and
draw "Loading weights" bars: notices for nudge's maintainers, which a user can
do nothing about. nudge wraps the calls it makes into them in this context
manager instead of silencing them for the whole process, so a program that
uses nudge as a library keeps its own warning settings everywhere else.

Only warnings raised inside the dependencies are filtered: one that points at
nudge's own call (a deprecated argument nudge passes) still shows, to be fixed.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

DEPENDENCIES = ("transformers", "peft", "torch", "accelerate")
# Deprecation notices are addressed to the code that calls the library, i.e. to nudge's maintainers.
QUIET_CATEGORIES: tuple[type[Warning], ...] = (FutureWarning, DeprecationWarning)


class _Silencer:
    """Process-wide state held by whoever is inside `quiet_dependencies`, counted: warning filters and
    transformers' logging are global, so threads (the app's workers) share one hold; the first in
    silences, the last out restores what was there before."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._filters: warnings.catch_warnings | None = None
        self._verbosity = 0  # transformers' logging level, saved by the first hold
        self._bars_were_on = True

    def hold(self) -> None:
        with self._lock:
            self._holders += 1
            if self._holders > 1:
                return
            # imported here, so that decorating a CLI command costs its `--help` nothing
            from transformers.utils import logging as hf_logging

            self._filters = warnings.catch_warnings()
            self._filters.__enter__()
            for module in DEPENDENCIES:
                for category in QUIET_CATEGORIES:
                    warnings.filterwarnings("ignore", category=category, module=rf"{module}(\.|$)")
            self._verbosity = hf_logging.get_verbosity()
            self._bars_were_on = hf_logging.is_progress_bar_enabled()
            hf_logging.set_verbosity_error()  # transformers' logger warnings ("We strongly recommend ...")
            hf_logging.disable_progress_bar()  # "Loading weights" and the like

    def release(self) -> None:
        with self._lock:
            self._holders -= 1
            if self._holders > 0:
                return
            from transformers.utils import logging as hf_logging

            assert self._filters is not None  # set by the first hold
            self._filters.__exit__(None, None, None)
            self._filters = None
            hf_logging.set_verbosity(self._verbosity)
            if self._bars_were_on:
                hf_logging.enable_progress_bar()


_SILENCER = _Silencer()


@contextmanager
def quiet_dependencies() -> Iterator[None]:
    """Inside: the dependencies' deprecation warnings, logger warnings and progress bars are off.

    Nests, and may be entered from several threads at once; everything comes back
    as it was when the last one leaves.
    """
    _SILENCER.hold()
    try:
        yield
    finally:
        _SILENCER.release()
