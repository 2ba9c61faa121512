"""Build a dataclass tree from decoded YAML or JSON, checking every value against its field's type hint.

Errors name the field by its path and say what is allowed (`lora.rank must be int, got 'four'`).
Unknown keys are errors too: a typo must not silently fall back to a default. What a field
means and which values make sense stay with the dataclass (its help and `__post_init__`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import types
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

T = TypeVar("T")


def type_name(hint: Any) -> str:
    """A type hint as a reader says it: `int`, `str or null`, `` `val` or `none` ``."""
    if get_origin(hint) is Literal:
        return " or ".join(f"`{a}`" for a in get_args(hint))
    if isinstance(hint, type):
        return "null" if hint is type(None) else hint.__name__
    if get_origin(hint) in (Union, types.UnionType):
        return " or ".join(type_name(a) for a in get_args(hint))
    return str(hint).replace("typing.", "").replace(" | ", " or ").replace("NoneType", "null")


def _checked(value: Any, hint: Any, where: str, error: type[Exception]) -> Any:
    origin, args = get_origin(hint), get_args(hint)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, value, where, where, error)
    if origin is Literal:
        if value not in args:
            raise error(f"{where} must be one of {', '.join(map(str, args))}, got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise error(f"{where} must be a list, got {value!r}")
        return [_checked(v, args[0], f"{where}[{i}]", error) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise error(f"{where} must be a dict, got {value!r}")
        return {str(k): _checked(v, args[1], f"{where}.{k}", error) for k, v in value.items()}
    if args:  # a union such as `str | None` or `str | list[str]`
        for option in args:
            try:
                return _checked(value, option, where, error)
            except error:
                continue
        raise error(f"{where} must be {' or '.join(type_name(a) for a in args)}, got {value!r}")
    if hint is type(None):
        if value is not None:
            raise error(f"{where} must be null, got {value!r}")
        return value
    if hint is float and isinstance(value, int | str) and not isinstance(value, bool):
        with contextlib.suppress(ValueError, OverflowError):
            value = float(value)  # YAML reads 5e-3 as a string
    if hint is float and isinstance(value, float) and not math.isfinite(value):
        raise error(f"{where} must be a finite number, got {value}")
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise error(f"{where} must be {hint.__name__}, got {value!r}")
    return value


def _build(cls: type[T], data: Any, where: str, whole: str, error: type[Exception]) -> T:
    if not isinstance(data, dict):
        raise error(f"{whole} must be a mapping of fields, got {data!r}")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]  # a dataclass, checked by the caller
    unknown = sorted(set(data) - set(fields))
    if unknown:
        prefix = f"{where}." if where else ""
        raise error(f"unknown field {prefix}{unknown[0]}; allowed: {', '.join(fields)}")
    kwargs = {}
    for name, f in fields.items():
        path = f"{where}.{name}" if where else name
        if name in data:
            kwargs[name] = _checked(data[name], hints[name], path, error)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise error(f"missing required field {path}: {f.metadata.get('help', '')}")
    return cls(**kwargs)


def dataclass_from_dict(cls: type[T], data: object, error: type[Exception], whole: str) -> T:
    """`cls` (a dataclass, its nested dataclasses too) built from `data`, every value checked against its hint.

    The first bad field raises `error` with a message that names it; `whole` names `data` itself,
    for an error about all of it ("the spec must be a mapping of fields").
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    return _build(cls, data, "", whole, error)
