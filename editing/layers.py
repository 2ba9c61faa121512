"""Which transformer layer a module belongs to, read from its dotted name."""

from __future__ import annotations

import re


def layer_index(module_name: str) -> int | None:
    """The first number between dots: `transformer.h.3.mlp.c_fc` -> 3; None outside the layer stack."""
    match = re.search(r"\.(\d+)\.", f".{module_name}.")
    return int(match.group(1)) if match else None
