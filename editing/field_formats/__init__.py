"""The field's knowledge-editing benchmark files as nudge probes, and nudge probes as EasyEdit's edit requests.

`read_field_probes(path, "counterfact")` reads CounterFact, zsRE, MQuAKE, KnowEdit or EasyEdit's
request shape into probes without a split (the importer deals splits); `easyedit_requests(probes)`
writes the other way. docs/field-formats.md maps each format's fields onto nudge's probe kinds.
Nothing here imports torch or the store.
"""

from __future__ import annotations

from collections.abc import Callable

from editing.field_formats.counterfact import read_counterfact
from editing.field_formats.detect import FORMAT_TITLES, detect_format
from editing.field_formats.easyedit import read_easyedit
from editing.field_formats.easyedit_export import EasyEditExport, EasyEditExportError, ProbeLike, easyedit_requests
from editing.field_formats.knowedit import read_knowedit
from editing.field_formats.mquake import read_mquake
from editing.field_formats.probes import MULTI_HOP_KIND, FieldImport, FieldProbe
from editing.field_formats.records import FieldFormatError, FieldSource, WrongFieldFormat
from editing.field_formats.zsre import read_zsre

FIELD_READERS: dict[str, Callable[[FieldSource, str | None], FieldImport]] = {
    "counterfact": read_counterfact,
    "zsre": read_zsre,
    "mquake": read_mquake,
    "knowedit": read_knowedit,
    "easyedit": read_easyedit,
}
FIELD_FORMATS: tuple[str, ...] = tuple(FIELD_READERS)


def read_field_probes(source: FieldSource, fmt: str, name: str | None = None) -> FieldImport:
    """Probes from a benchmark file (or its decoded JSON) in format `fmt`, one of FIELD_FORMATS.

    Refuses a file that looks like another format, naming it, and a malformed record, naming the
    file, the record, the field and the shape expected (`FieldFormatError`, a `BadInput`).
    """
    if fmt not in FIELD_READERS:
        raise FieldFormatError(f"unknown benchmark format {fmt!r}; known: {', '.join(FIELD_FORMATS)}")
    return FIELD_READERS[fmt](source, name)


__all__ = [
    "FIELD_FORMATS",
    "FIELD_READERS",
    "FORMAT_TITLES",
    "MULTI_HOP_KIND",
    "EasyEditExport",
    "EasyEditExportError",
    "FieldFormatError",
    "FieldImport",
    "FieldProbe",
    "FieldSource",
    "ProbeLike",
    "WrongFieldFormat",
    "detect_format",
    "easyedit_requests",
    "read_counterfact",
    "read_easyedit",
    "read_field_probes",
    "read_knowedit",
    "read_mquake",
    "read_zsre",
]
