"""Checks of the arguments the public API takes: each bad one is an ``InvalidArgumentError`` (or "not found" for an
id no row can have) naming it, never a driver error."""

from __future__ import annotations

import operator
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..errors import InvalidArgumentError, NotFoundError


def as_int(value: Any) -> int | None:
    """``value`` as an int when it is a whole-number type (int, or a numpy integer from ``query().rows``), else
    None. A bool is not a number here, and neither is a float or text: "1" and 1.0 are not ids or counts."""
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def check_id(item_id: Any) -> int:
    """``item_id`` as an int; an id no row can have (not an integer, or beyond BIGINT) is "not found", not a
    driver error. The int matters: drivers cannot bind numpy integers."""
    number = as_int(item_id)
    if number is None or not 0 < number < 2**63:
        raise NotFoundError(item_id)
    return number


def whole_number(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """A whole-number argument as an int, or ``InvalidArgumentError`` naming it."""
    number = as_int(value)
    if number is None or (low is not None and number < low) or (high is not None and number > high):
        bounds = {(True, True): f" between {low} and {high}", (True, False): f" of at least {low}"}.get(
            (low is not None, high is not None), ""
        )
        raise InvalidArgumentError({name: f"{name} must be a whole number{bounds}, got {value!r}"[:300]})
    return number


def check_descending(descending: Any) -> bool:
    if not isinstance(descending, (bool, np.bool_)):
        raise InvalidArgumentError({"descending": f"descending must be True or False, got {descending!r}"[:300]})
    return bool(descending)


def page_key(name: str, key: Any) -> tuple[Any, int] | None:
    """A page's ``first_key``/``last_key`` (sort value, id), or ``InvalidArgumentError``."""
    if key is None:
        return None
    if isinstance(key, (tuple, list)) and len(key) == 2 and (ident := as_int(key[1])) is not None:
        return key[0], ident
    raise InvalidArgumentError(
        {name: f"{name} must be a page's first_key or last_key (sort value, id), got {key!r}"[:300]}
    )


def fields_mapping(name: str, values: Any) -> Mapping[str, Any]:
    """``values`` of ``add``/``update``: a mapping of field name to value, or ``InvalidArgumentError``."""
    if not isinstance(values, Mapping):
        raise InvalidArgumentError(
            {name: f"{name} must be a mapping of field name to value (a dict), got {type(values).__name__}"}
        )
    return values


def fs_path(target: str | Path | IO[Any]) -> str | IO[Any]:
    """A path as ``str`` (what XlsxWriter and PyArrow take), a file object as it is."""
    return str(target) if isinstance(target, Path) else target
