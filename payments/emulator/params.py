"""Stripe's form encoding: nested keys in, checked and typed Python values out.

Stripe's v1 API takes ``application/x-www-form-urlencoded`` bodies (and query strings) whose keys
nest with brackets: ``line_items[0][price_data][currency]=eur``, ``metadata[order_id]=7``,
``expand[0]=payment_intent`` (or ``expand[]=...``). :func:`parse_form` turns those into nested
dicts; :func:`check` walks them against a schema, converting values and rejecting any key the
schema does not list, with the same errors Stripe gives.

A schema maps each accepted parameter to one of:

- ``STRING``, ``INTEGER``, ``BOOLEAN``: a scalar;
- ``METADATA``: a hash of strings (an empty value deletes the key, as on Stripe);
- ``STRINGS``: an array of strings;
- a dict: a nested hash with its own schema;
- a one-element list ``[schema]``: an array of hashes, each checked against ``schema``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from .errors import invalid, missing, unknown

STRING = "string"
INTEGER = "integer"
BOOLEAN = "boolean"
METADATA = "metadata"
STRINGS = "strings"

Schema = Mapping[str, Any]

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")

# Stripe's documented metadata limits.
_METADATA_MAX_KEYS = 50
_METADATA_MAX_KEY_LENGTH = 40
_METADATA_MAX_VALUE_LENGTH = 500


def parse_form(encoded: str) -> dict[str, Any]:
    """Decode a form body or query string into nested dicts (arrays stay index-keyed dicts).

    Arrays become lists only in :func:`check`, where the schema says a list is expected: a
    metadata hash may legitimately have keys such as ``"0"``.
    """
    root: dict[str, Any] = {}
    for key, value in parse_qsl(encoded, keep_blank_values=True):
        match = _KEY.match(key)
        if match is None:
            raise invalid(f"Invalid parameter name: {key}", param=key)
        path = [match.group(1), *_SEGMENT.findall(match.group(2))]
        _insert(root, path, value, key)
    return root


def _insert(node: dict[str, Any], path: list[str], value: str, full_key: str) -> None:
    *parents, last = path
    for segment in parents:
        child = node.setdefault(segment or str(len(node)), {})
        if not isinstance(child, dict):
            raise invalid(f"Invalid hash: {full_key} mixes a value and nested keys", full_key)
        node = child
    # "expand[]=a&expand[]=b" appends, like Rails-style arrays.
    node[last or str(len(node))] = value


def check(params: Mapping[str, Any], schema: Schema) -> dict[str, Any]:
    """Return ``params`` typed by ``schema``; raise Stripe's error for anything it doesn't list."""
    return _check_hash(params, schema, prefix=None)


def _name(prefix: str | None, key: str) -> str:
    return key if prefix is None else f"{prefix}[{key}]"


def _check_hash(value: Any, schema: Schema, prefix: str | None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(f"Invalid hash: {prefix}", param=prefix or "")
    checked = {}
    for key, item in value.items():
        name = _name(prefix, key)
        if key not in schema:
            raise unknown(name)
        checked[key] = _check_value(item, schema[key], name)
    return checked


def _check_value(value: Any, kind: Any, name: str) -> Any:
    if isinstance(kind, dict):
        return _check_hash(value, kind, name)
    if isinstance(kind, list):
        return [_check_hash(item, kind[0], f"{name}[{i}]") for i, item in _array(value, name)]
    if kind == STRINGS:
        return [_check_string(item, f"{name}[{i}]") for i, item in _array(value, name)]
    if kind == METADATA:
        return _check_metadata(value, name)
    if kind == INTEGER:
        return _check_integer(value, name)
    if kind == BOOLEAN:
        return _check_boolean(value, name)
    return _check_string(value, name)


def _array(value: Any, name: str) -> list[tuple[int, Any]]:
    """The items of an index-keyed dict (``{"0": a, "1": b}``), in index order."""
    if not isinstance(value, dict) or not all(key.isdigit() for key in value):
        raise invalid(f"Invalid array: {name}", param=name)
    return sorted((int(key), item) for key, item in value.items())


def _check_string(value: Any, name: str) -> str:
    if isinstance(value, dict):
        raise invalid(f"Invalid string: {name} must be a string, not a hash", param=name)
    if value == "":
        # Stripe reads an empty value as "unset", which a create call cannot do.
        raise invalid(
            f"You passed an empty string for '{name}'. We assume empty values are an attempt to "
            f"unset a parameter; however '{name}' cannot be unset. You should remove '{name}' "
            "from your request or supply a non-empty value.",
            param=name,
            code="parameter_invalid_empty",
        )
    return str(value)


def _check_integer(value: Any, name: str) -> int:
    text = _check_string(value, name)
    if not re.fullmatch(r"-?\d+", text):
        raise invalid(f"Invalid integer: {text}", param=name, code="parameter_invalid_integer")
    return int(text)


def _check_boolean(value: Any, name: str) -> bool:
    text = _check_string(value, name)
    if text not in ("true", "false"):
        raise invalid(f"Invalid boolean: {text}", param=name)
    return text == "true"


def _check_metadata(value: Any, name: str) -> dict[str, str]:
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise invalid(f"Invalid hash: {name}", param=name)
    metadata = {}
    for key, item in value.items():
        if isinstance(item, dict):
            raise invalid(f"Invalid string: {name}[{key}] must be a string", param=f"{name}[{key}]")
        if len(key) > _METADATA_MAX_KEY_LENGTH:
            raise invalid(
                f"Metadata keys can have up to {_METADATA_MAX_KEY_LENGTH} characters, but you "
                f"passed in a key that is {len(key)} characters long.",
                param=f"{name}[{key}]",
            )
        if len(item) > _METADATA_MAX_VALUE_LENGTH:
            raise invalid(
                f"Metadata values can have up to {_METADATA_MAX_VALUE_LENGTH} characters, but "
                f"you passed in a value that is {len(item)} characters long.",
                param=f"{name}[{key}]",
            )
        if item != "":
            metadata[key] = item
    if len(metadata) > _METADATA_MAX_KEYS:
        raise invalid(
            f"You can specify up to {_METADATA_MAX_KEYS} metadata keys.",
            param=name,
        )
    return metadata


def require(params: Mapping[str, Any], *names: str, prefix: str | None = None) -> None:
    """Raise Stripe's ``parameter_missing`` for the first of ``names`` absent from ``params``."""
    for name in names:
        if name not in params:
            raise missing(_name(prefix, name))
