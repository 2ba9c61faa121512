"""How nudge joins a prompt and its completion: one rule for training, probing and exports.

Kept free of the model libraries, so `nudge export` can write completions exactly as
nudge trains them without importing torch.
"""

from __future__ import annotations


def join_completion(completion: str) -> str:
    """Completions follow their prompt after one space, unless they bring their own."""
    return completion if completion[:1].isspace() else " " + completion
