"""Decoding Stripe's form-encoded bracket parameters and reading typed values out of them.

The SDK sends ``a[b][c]=x`` for nested objects and ``a[0][b]=x`` for arrays (always indexed),
``true``/``false`` for booleans and an empty string to unset a field. Everything arrives as a
string; handlers ask for the type they need and get Stripe's error wording if it is wrong.
"""

from __future__ import annotations

import builtins
import re
from typing import Any
from urllib.parse import parse_qsl

from .errors import invalid, missing_param

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")


def parse_form(text: str) -> dict[str, Any]:
    """Turn a query string / form body into nested dicts and lists of strings."""
    root: dict[str, Any] = {}
    for raw_key, value in parse_qsl(text, keep_blank_values=True):
        match = _KEY.match(raw_key)
        if not match:
            raise invalid(f"Invalid parameter name: {raw_key}", raw_key)
        parts = [match.group(1), *_PART.findall(match.group(2))]
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "":
                # Old-style ``a[]=x`` appends; give it the next free index.
                part = str(len(node))
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise invalid(f"Invalid parameter: {raw_key}", raw_key)
    return _listify(root)


def _listify(node: Any) -> Any:
    """Dicts whose keys are all indexes become lists (in index order)."""
    if not isinstance(node, dict):
        return node
    converted = {k: _listify(v) for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


def path_name(path: tuple[str, ...]) -> str:
    head, *rest = path
    return head + "".join(f"[{p}]" for p in rest)


class Params:
    """Typed read access to decoded params; every getter raises Stripe's 400 on bad input."""

    def __init__(self, data: dict[str, Any], prefix: tuple[str, ...] = ()) -> None:
        self.data = data
        self.prefix = prefix

    def __contains__(self, name: str) -> bool:
        return name in self.data

    def _name(self, name: str) -> str:
        return path_name((*self.prefix, name))

    def raw(self, name: str, default: Any = None) -> Any:
        return self.data.get(name, default)

    def str(
        self,
        name: builtins.str,
        default: builtins.str | None = None,
        *,
        required: builtins.bool = False,
    ) -> builtins.str | None:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                raise missing_param(self._name(name))
            return default if value is None else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise invalid(f"Invalid string: {self._name(name)}", self._name(name))
        return value

    def choice(
        self,
        name: builtins.str,
        choices: tuple[builtins.str, ...],
        default: builtins.str | None = None,
        *,
        required: builtins.bool = False,
    ) -> builtins.str | None:
        value = self.str(name, default, required=required)
        if value is not None and value not in choices:
            raise invalid(
                f"Invalid {self._name(name)}: must be one of {', '.join(choices)}",
                self._name(name),
            )
        return value

    def int(
        self,
        name: builtins.str,
        default: builtins.int | None = None,
        *,
        required: builtins.bool = False,
        minimum: builtins.int | None = None,
        maximum: builtins.int | None = None,
    ) -> builtins.int | None:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                raise missing_param(self._name(name))
            return default
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # JSON bodies of the /_emulator/ controls
        if not isinstance(value, str) or not re.fullmatch(r"-?\d+", value):
            raise invalid(
                f"Invalid integer: {value}", self._name(name), "parameter_invalid_integer"
            )
        number = int(value)
        if minimum is not None and number < minimum:
            raise invalid(
                f"This value must be greater than or equal to {minimum}.", self._name(name)
            )
        if maximum is not None and number > maximum:
            raise invalid(f"This value must be less than or equal to {maximum}.", self._name(name))
        return number

    def bool(
        self, name: builtins.str, default: builtins.bool | None = None
    ) -> builtins.bool | None:
        value = self.data.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise invalid(f"Invalid boolean: {value}", self._name(name))

    def dict(self, name: builtins.str, *, required: builtins.bool = False) -> Params | None:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                raise missing_param(self._name(name))
            return None
        if isinstance(value, list):
            value = {str(i): v for i, v in enumerate(value)}
        if not isinstance(value, dict):
            raise invalid(f"Invalid object: {self._name(name)}", self._name(name))
        return Params(value, (*self.prefix, name))

    def list(self, name: builtins.str, *, required: builtins.bool = False) -> builtins.list[Any]:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                raise missing_param(self._name(name))
            return []
        if isinstance(value, str):
            return [value]
        if isinstance(value, dict):
            raise invalid(f"Invalid array: {self._name(name)}", self._name(name))
        return list(value)

    def dicts(
        self, name: builtins.str, *, required: builtins.bool = False
    ) -> builtins.list[Params]:
        items = self.list(name, required=required)
        result = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise invalid(f"Invalid object: {self._name(name)}[{i}]", self._name(name))
            result.append(Params(item, (*self.prefix, name, str(i))))
        return result

    def metadata(
        self, name: builtins.str = "metadata"
    ) -> builtins.dict[builtins.str, builtins.str] | None:
        """Stripe metadata: string values only, ``""`` for the whole field clears it."""
        value = self.data.get(name)
        if value is None:
            return None
        if value == "":
            return {}
        if not isinstance(value, dict):
            raise invalid(f"Invalid metadata: {self._name(name)}", self._name(name))
        if len(value) > 50:
            raise invalid("Metadata can have at most 50 keys.", self._name(name))
        for key, item in value.items():
            if not isinstance(item, str):
                raise invalid(f"Invalid metadata value for {key}", self._name(name))
        return dict(value)

    def range(self, name: builtins.str) -> builtins.dict[builtins.str, builtins.int] | None:
        """``created=123`` or ``created[gte]=1&created[lt]=2`` → ``{"gte": 1, "lt": 2}``."""
        value = self.data.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            exact = self.int(name, required=True)
            assert exact is not None
            return {"gte": exact, "lte": exact}
        sub = self.dict(name)
        assert sub is not None
        bounds = {}
        for op in ("gt", "gte", "lt", "lte"):
            bound = sub.int(op)
            if bound is not None:
                bounds[op] = bound
        return bounds

    def expand(self) -> builtins.list[builtins.str]:
        return [str(e) for e in self.list("expand")]


def merge_metadata(current: dict[str, str], update: dict[str, str] | None) -> dict[str, str]:
    """Stripe merges metadata keys; a key set to ``""`` is removed, ``metadata=""`` clears all."""
    if update is None:
        return current
    if update == {}:
        return {}
    merged = dict(current)
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def in_range(value: int | None, bounds: dict[str, int] | None) -> bool:
    if bounds is None:
        return True
    if value is None:
        return False
    return (
        ("gt" not in bounds or value > bounds["gt"])
        and ("gte" not in bounds or value >= bounds["gte"])
        and ("lt" not in bounds or value < bounds["lt"])
        and ("lte" not in bounds or value <= bounds["lte"])
    )
