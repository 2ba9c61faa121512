"""What a reference in a spec or on the command line names: one table, filled in by the layers that own the data.

A reference is a file, a folder, a hub id, or `scheme:NAME`: `toyworld:dog-cat-swap` (shipped
with the toy world), `store:mine` (a suite kept in the store), `version:3` (a stored model
version). A model may also go by a bare name, as `toyworld` does. The table knows files,
folders and hub ids by itself; the rest is registered by whoever owns it, as peft's
type -> config mapping and lm-eval's TaskManager are filled: the toy world registers its
model, suites and text sets (`editing.toyworld.references`), a run the store's suites
(`editing.store_feedback.register_store`), and `editing.loading` builds the table a workspace
reads. A new source of models, suites or texts is one registration, not a branch in each reader.

It imports neither torch nor the store, so a spec names its bad reference at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from editing.errors import BadInput
from editing.probes.suites import ProbeSuite, ProbeSuiteError, read_suite, read_texts

VERSION = "version"  # `version:N`, or `N` alone: a stored model version, read from the store
_SCHEME = re.compile(r"^([a-z][a-z0-9-]+):(.*)$")  # two letters at least, so `C:\models` stays a path
_VERSION_ID = re.compile(r"^(?:version:)?(\d+)$")

SuiteReader = Callable[[str], ProbeSuite]  # NAME of `scheme:NAME` -> the suite
TextsReader = Callable[[str], list[str]]  # NAME of `scheme:NAME` -> the texts


class ModelLoadError(BadInput):
    """A model reference that cannot be loaded; the message says why and what to do."""


def split_reference(ref: str) -> tuple[str, str]:
    """(scheme, NAME) of `scheme:NAME`; ("", ref) for a file, a folder or a hub id."""
    found = _SCHEME.match(ref)
    return (found.group(1), found.group(2)) if found else ("", ref)


def stored_version_id(ref: str) -> int | None:
    """The stored model version `version:N` (or `N`) names; None for a reference to anything else."""
    found = _VERSION_ID.match(ref.strip())
    if found:
        return int(found.group(1))
    if split_reference(ref.strip())[0] == VERSION:
        raise ModelLoadError(f"{ref!r} is not a model version; give version:N or N")
    return None


def suite_name(ref: str) -> str:
    """The name of the suite `ref` reads: the reference itself (`toyworld:dog-cat-swap`), or a file's stem."""
    return ref if split_reference(ref)[0] else Path(ref).stem


@dataclass(frozen=True)
class ModelSource:
    """Where a model's files are: a local folder or a hub id, exactly one of them."""

    ref: str  # what was named: a folder, a hub id, or a registered name such as `toyworld`
    folder: Path | None
    hub_id: str = ""

    @property
    def location(self) -> str:
        """What transformers' `from_pretrained` reads: the folder, else the hub id."""
        return str(self.folder) if self.folder is not None else self.hub_id


@dataclass(frozen=True)
class NamedModel:
    """A model known by name: where it is built, and the texts it ships for a spec that names none."""

    description: str  # for errors: "the toy-world model"
    folder: Callable[[], Path]  # asked when the model is needed: the workspace decides where it lives
    build: str  # the command that builds it, named when the folder holds no model
    retain: str | None = None  # train.retain, when the spec trains a KL term and names no retain texts
    fluency: str | None = None  # fluency, when the spec names no fluency text
    prefixes: str | None = None  # train.prefixes: auto; a model without them puts its own samples first


def _listed(names: list[str], empty: str) -> str:
    return ", ".join(names) if names else empty


class References:
    """Per kind of data (models, probe suites, text sets), what each registered name or scheme reads."""

    def __init__(self) -> None:
        self.models: dict[str, NamedModel] = {}
        self.suites: dict[str, SuiteReader] = {}
        self.text_sets: dict[str, TextsReader] = {}

    def add_model(self, name: str, model: NamedModel) -> None:
        """Know the model `name` (a bare name, as `toyworld`)."""
        if name in self.models:
            raise ValueError(f"the model name {name!r} is registered already")
        self.models[name] = model

    def add_suites(self, scheme: str, read: SuiteReader) -> None:
        """Read `scheme:NAME` probe suites with `read(NAME)`."""
        if scheme in self.suites:
            raise ValueError(f"`{scheme}:` probe suites are registered already")
        self.suites[scheme] = read

    def add_texts(self, scheme: str, read: TextsReader) -> None:
        """Read `scheme:NAME` text sets with `read(NAME)`."""
        if scheme in self.text_sets:
            raise ValueError(f"`{scheme}:` text sets are registered already")
        self.text_sets[scheme] = read

    def named_model(self, ref: str) -> NamedModel | None:
        """The registered model `ref` names; None for a folder, a hub id or a stored version."""
        return self.models.get(ref)

    def model_source(self, ref: str) -> ModelSource:
        """Where the model `ref` names is: a registered model's folder, a local folder, or a hub id.

        Raises ModelLoadError with the reason and the fix; a hub id is not fetched here.
        """
        named = self.models.get(ref)
        if named is not None:
            folder = named.folder()
            if not (folder / "config.json").exists():
                raise ModelLoadError(
                    f"{named.description} is not built yet (looked in {folder}); run `{named.build}` first"
                )
            return ModelSource(ref, folder)
        names = " or ".join(f"`{name}`" for name in self.models)
        or_named = f", or {names}" if names else ""
        path = Path(ref).expanduser()
        if path.exists():
            if not path.is_dir():
                raise ModelLoadError(f"{ref} is a file; give the folder that holds config.json")
            if not (path / "config.json").exists():
                raise ModelLoadError(
                    f"{ref} is not a Hugging Face model folder (no config.json in it); "
                    f"give a folder written by save_pretrained, a hub id{or_named}"
                )
            return ModelSource(ref, path)
        scheme, _ = split_reference(ref)
        if scheme:
            what = "a stored model version, read from the store" if scheme == VERSION else f"a `{scheme}:` reference"
            raise ModelLoadError(f"{ref} is {what}, not a model here; give a folder, a hub id{or_named}")
        if ref.startswith((".", "/", "~")) or ref.count("/") > 1 or not ref.strip():
            raise ModelLoadError(f"no such model folder: {ref}; check the path, or name a hub id")
        return ModelSource(ref, None, ref)

    def load_suite(self, ref: str) -> ProbeSuite:
        """The probe suite `ref` names: a registered `scheme:NAME`, or a JSONL file; validated."""
        scheme, name = split_reference(ref)
        known = _listed([f"{s}:NAME" for s in self.suites], "none registered")
        if not scheme:
            path = Path(ref).expanduser()
            if not path.is_file():
                raise ProbeSuiteError(f"probe suite {ref!r} is neither a JSONL file nor a reference ({known})")
            return read_suite(path, suite_name(ref))
        read = self.suites.get(scheme)
        if read is None:
            raise ProbeSuiteError(f"probe suite {ref!r}: no suites are known by `{scheme}:`; known: {known}")
        return read(name)

    def load_texts(self, ref: str) -> list[str]:
        """The texts `ref` names (a retain set, a fluency text): a registered `scheme:NAME`, a .jsonl or a .txt."""
        scheme, name = split_reference(ref)
        if not scheme:
            path = Path(ref).expanduser()
            if not path.is_file():
                raise ValueError(f'text set {ref!r} is not a file; give a .jsonl of {{"text": ...}} or a .txt')
            return read_texts(path)
        read = self.text_sets.get(scheme)
        if read is None:
            known = _listed([f"{s}:NAME" for s in self.text_sets], "none registered")
            raise ValueError(f"text set {ref!r}: no texts are known by `{scheme}:`; known: {known}")
        return read(name)
