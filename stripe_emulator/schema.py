"""What each ``/v1`` endpoint accepts, derived from the installed ``stripe`` SDK.

The SDK is generated from Stripe's OpenAPI spec, so its service modules and params TypedDicts
are the best local statement of Stripe's request surface. Nothing here is hand-listed:

* the route index comes from parsing (with ``ast``) every ``stripe/**/_*_service.py``: each
  method calls ``self._request("post", "/v1/accounts/{account}".format(...), params=params)``
  and annotates ``params: Optional["AccountUpdateParams"]``;
* the accepted fields come from that TypedDict, resolved on first use of the route: its keys
  (minus the inherited ``RequestOptions`` keys, which the SDK turns into headers), which are
  ``NotRequired``, and their types turned into small ``Spec`` nodes the checker walks.

``check(method, path, params)`` then refuses, with Stripe's error shapes, what Stripe refuses:
unknown parameters, missing required ones, values of the wrong type or outside an enum, empty
strings where nothing may be unset, and currencies Stripe does not support. Building the index
costs a few tenths of a second, once per process, on the first ``/v1`` request.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import importlib.util
import re
import threading
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import StripeError, invalid

# --- specs: the SDK's types as small nodes ------------------------------------------------


class Spec:
    """One accepted shape of a value."""


@dataclass(frozen=True, eq=False)
class Scalar(Spec):
    kind: str  # "str", "int", "bool", "decimal" or "any"


@dataclass(frozen=True, eq=False)
class Enum(Spec):
    values: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Empty(Spec):
    """``Literal['']``: the SDK's way of saying an empty string unsets the field."""


@dataclass(frozen=True, eq=False)
class ListOf(Spec):
    item: Spec


@dataclass(frozen=True, eq=False)
class MapOf(Spec):
    """A free-form hash (``Dict[str, X]``): metadata and the like."""

    value: Spec


@dataclass(frozen=True, eq=False)
class OneOf(Spec):
    options: tuple[Spec, ...]


@dataclass(eq=False)
class Obj(Spec):
    """A TypedDict. Fields resolve on first use: nested types can refer to themselves."""

    typed_dict: Any
    skip: frozenset[str] = frozenset()
    _fields: dict[str, Spec] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.typed_dict.__name__

    @property
    def fields(self) -> dict[str, Spec]:
        if self._fields is None:
            namespace = _Names(self.typed_dict.__module__)
            self._fields = {
                key: _spec(annotation, namespace)
                for key, annotation in self.typed_dict.__annotations__.items()
                if key not in self.skip
            }
        return self._fields

    @property
    def required(self) -> frozenset[str]:
        return frozenset(self.typed_dict.__required_keys__) - self.skip


class _Names(dict):
    """Evaluation namespace for a params module's forward references ("Literal['x']|str",
    "AccountCreateParamsCompany"): the module's globals, then anything ``stripe.params``
    exports (names imported only under ``TYPE_CHECKING``)."""

    def __init__(self, module_name: str) -> None:
        super().__init__(vars(importlib.import_module(module_name)))

    def __missing__(self, name: str) -> Any:
        import stripe.params

        if hasattr(builtins, name):  # eval looks here before the builtins (``str``)
            return getattr(builtins, name)
        return getattr(stripe.params, name)


_OBJECTS: dict[Any, Obj] = {}


def _spec(annotation: Any, namespace: _Names) -> Spec:
    """Turn one SDK annotation into a Spec."""
    if isinstance(annotation, typing.ForwardRef):
        annotation = annotation.__forward_arg__
    if isinstance(annotation, str):
        annotation = eval(annotation, namespace)  # noqa: S307 - the SDK's own type strings
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.NotRequired, typing.Required):
        return _spec(args[0], namespace)
    if origin is typing.Union or isinstance(annotation, types.UnionType):
        return _union([_spec(arg, namespace) for arg in args if arg is not type(None)])
    if origin is typing.Literal:
        values = tuple(str(v).lower() if isinstance(v, bool) else str(v) for v in args)
        choices = tuple(v for v in values if v != "")
        if len(choices) == len(values):
            return Enum(choices)
        return _union([Enum(choices), Empty()]) if choices else Empty()
    if origin is list:
        return ListOf(_spec(args[0], namespace) if args else Scalar("any"))
    if origin is dict or (origin is not None and origin.__name__ == "UntypedStripeObject"):
        return MapOf(_spec(args[-1], namespace) if args else Scalar("any"))
    if _is_typed_dict(annotation):
        if annotation not in _OBJECTS:
            _OBJECTS[annotation] = Obj(annotation)
        return _OBJECTS[annotation]
    if annotation is str:
        return Scalar("str")
    if annotation is bool:
        return Scalar("bool")
    if annotation is int:
        return Scalar("int")
    if annotation is float or getattr(annotation, "__name__", "") == "Decimal":
        return Scalar("decimal")
    if annotation is typing.Any or annotation is object:
        return Scalar("any")
    raise TypeError(f"Unsupported SDK annotation: {annotation!r}")


def _union(options: list[Spec]) -> Spec:
    flat: list[Spec] = []
    for option in options:
        flat.extend(option.options if isinstance(option, OneOf) else [option])
    # "Literal['draft', 'open']|str": the |str is client leniency for values added after
    # this SDK was generated; the API itself refuses anything outside the set.
    if any(isinstance(o, Enum) for o in flat):
        flat = [o for o in flat if not (isinstance(o, Scalar) and o.kind == "str")]
    return flat[0] if len(flat) == 1 else OneOf(tuple(flat))


def _is_typed_dict(annotation: Any) -> bool:
    return isinstance(annotation, type) and hasattr(annotation, "__required_keys__")


# --- the route index ------------------------------------------------------------------------


@dataclass
class Endpoint:
    method: str  # "POST"
    path: str  # "/v1/accounts/{account}", as the SDK writes it
    service: str  # "stripe._account_service.AccountService" (class names repeat across modules)
    function: str  # "update"
    params_module: str  # "stripe.params._account_update_params"
    params_class: str  # "AccountUpdateParams"
    _spec: Obj | None = field(default=None, repr=False)

    @property
    def template(self) -> str:
        """The path with anonymous placeholders, to compare with other spellings."""
        return re.sub(r"\{\w+\}", "{}", self.path)

    @property
    def spec(self) -> Obj:
        if self._spec is None:
            from stripe._request_options import RequestOptions

            typed_dict = getattr(importlib.import_module(self.params_module), self.params_class)
            # Request options (api_key, stripe_account, idempotency_key, ...) are inherited
            # TypedDict keys the SDK sends as headers, never as body parameters.
            inherited = RequestOptions.__annotations__
            own = typed_dict.__annotations__
            skip = frozenset(k for k in inherited if own.get(k) is inherited[k])
            self._spec = Obj(typed_dict, skip)
        return self._spec


class Schema:
    def __init__(self, endpoints: list[Endpoint]) -> None:
        self.endpoints = endpoints
        self._by_route: dict[tuple[str, str], Endpoint] = {}
        for endpoint in endpoints:
            # One route, two SDK spellings (a deprecated alias): the first, in path order, wins.
            self._by_route.setdefault((endpoint.method, endpoint.template), endpoint)
        self._literal = {k: e for k, e in self._by_route.items() if "{}" not in k[1]}
        self._patterns = [
            (re.compile("^" + re.escape(e.template).replace(r"\{\}", "[^/]+") + "$"), e)
            for k, e in self._by_route.items()
            if "{}" in k[1]
        ]
        self._by_function = {(e.service, e.function): e for e in endpoints}

    def route(self, method: str, template: str) -> Endpoint | None:
        """The endpoint for a route written with any placeholder names."""
        return self._by_route.get((method, re.sub(r"\{\w+\}", "{}", template)))

    def find(self, method: str, path: str) -> Endpoint | None:
        """The endpoint a concrete request path hits; literal paths win over templates."""
        found = self._literal.get((method, path))
        if found is not None:
            return found
        matches = [e for regex, e in self._patterns if e.method == method and regex.match(path)]
        # Prefer the template with the most literal segments (``/v1/invoices/upcoming/lines``).
        return max(matches, key=lambda e: len(e.template.replace("{}", "")), default=None)

    def function(self, service: str, function: str) -> Endpoint | None:
        """The endpoint of an SDK method: ``function("stripe._account_service.AccountService",
        "create")``."""
        return self._by_function.get((service, function))


def _service_files(root: Path) -> list[Path]:
    return sorted(
        path
        for path in root.rglob("_*_service.py")
        if "v2" not in path.relative_to(root).parts  # /v2 is another API with JSON bodies
    )


def _endpoints_in(path: Path, module: str) -> list[Endpoint]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules: dict[str, str] = {}
    # The params types are imported at the top, under ``if TYPE_CHECKING:`` (a shallow look:
    # walking the whole tree costs as much as parsing it).
    top = [n for node in tree.body for n in (node.body if isinstance(node, ast.If) else [node])]
    for node in top:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("stripe.params"):
            for alias in node.names:
                modules[alias.asname or alias.name] = node.module or ""
    found = []
    for cls in tree.body:
        if not isinstance(cls, ast.ClassDef):
            continue
        for func in cls.body:
            if not isinstance(func, ast.FunctionDef):
                continue
            params_class = _params_annotation(func)
            for call in ast.walk(func):
                route = _request_route(call)
                if route is None or params_class not in modules:
                    continue
                method, route_path = route
                if route_path.startswith("/v1/"):
                    found.append(
                        Endpoint(
                            method.upper(),
                            route_path,
                            f"{module}.{cls.name}",
                            func.name,
                            modules[params_class],
                            params_class,
                        )
                    )
    return found


def _params_annotation(func: ast.FunctionDef) -> str | None:
    """``params: Optional["AccountUpdateParams"]`` → ``AccountUpdateParams``."""
    for arg in [*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs]:
        if arg.arg == "params" and arg.annotation is not None:
            for node in ast.walk(arg.annotation):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    return node.value
                if isinstance(node, ast.Name) and node.id != "Optional":
                    return node.id
    return None


def _request_route(node: ast.AST) -> tuple[str, str] | None:
    """``self._request("post", "/v1/x/{id}".format(...), ...)`` → ``("post", "/v1/x/{id}")``."""
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "_request"
        and len(node.args) >= 2
        and isinstance(node.args[0], ast.Constant)
    ):
        return None
    target = node.args[1]
    if isinstance(target, ast.Call) and isinstance(target.func, ast.Attribute):
        target = target.func.value  # "...".format(...)
    if isinstance(target, ast.Constant) and isinstance(target.value, str):
        return str(node.args[0].value), target.value
    return None


def _module_name(root: Path, path: Path) -> str:
    return ".".join(("stripe", *path.relative_to(root).with_suffix("").parts))


_lock = threading.Lock()
_schema: Schema | None = None


def schema() -> Schema:
    """The table, built on first use and kept for the life of the process."""
    global _schema
    with _lock:
        if _schema is None:
            spec = importlib.util.find_spec("stripe")
            assert spec is not None and spec.origin is not None, "the stripe SDK is required"
            root = Path(spec.origin).parent
            endpoints = [
                endpoint
                for path in _service_files(root)
                for endpoint in _endpoints_in(path, _module_name(root, path))
            ]
            _schema = Schema(endpoints)
        return _schema


# --- checking a request ---------------------------------------------------------------------

# ISO 4217 codes Stripe accepts for charges and invoices (our list; Stripe adds a few a year).
CURRENCIES = frozenset(
    """usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd
    bwp byn bzd cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel
    gip gmd gnf gtq gyd hkd hnl htg huf idr ils inr isk jmd jod jpy kes kgs khr kmf krw kwd kyd
    kzt lak lbp lkr lrd lsl mad mdl mga mkd mmk mnt mop mru mur mvr mwk mxn myr mzn nad ngn nio
    nok npr nzd omr pab pen pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr sek sgd shp sle
    sos srd std szl thb tjs tnd top try ttd twd tzs uah ugx uyu uzs vnd vuv wst xaf xcd xof xpf
    yer zar zmw""".split()  # noqa: SIM905 - a table reads better as words
)
_CURRENCY_KEYS = ("currency", "default_currency")


def check(method: str, path: str, params: dict[str, Any]) -> None:
    """Raise Stripe's 400 if ``params`` is not what this endpoint accepts. Routes the SDK does
    not know are left to the router (which answers 404)."""
    endpoint = schema().find(method, path)
    if endpoint is None:
        return
    body = {k: v for k, v in params.items() if k != "expand"}  # accepted everywhere
    if "expand" in params:
        _check(ListOf(Scalar("str")), params["expand"], ("expand",))
    _check_object(endpoint.spec, body, ())


def _name(path: tuple[str, ...]) -> str:
    head, *rest = path
    return head + "".join(f"[{p}]" for p in rest)


def _check(spec: Spec, value: Any, path: tuple[str, ...]) -> None:
    name = _name(path)
    if value == "" and not isinstance(spec, Scalar | Empty | OneOf | MapOf):
        raise _empty(name)
    if isinstance(spec, OneOf):
        _check_union(spec, value, path)
    elif isinstance(spec, Obj):
        if not isinstance(value, dict):
            raise invalid("Invalid hash", name)
        _check_object(spec, value, path)
    elif isinstance(spec, MapOf):
        if value == "":
            raise _empty(name)
        if isinstance(value, list):  # ``metadata[0]=x`` decodes as a list
            value = {str(i): v for i, v in enumerate(value)}
        if not isinstance(value, dict):
            raise invalid("Invalid hash", name)
        for key, item in value.items():
            # A free-form hash takes "" for a key: that removes the key (metadata).
            if item != "":
                _check(spec.value, item, (*path, key))
    elif isinstance(spec, ListOf):
        if not isinstance(value, list):
            raise invalid("Invalid array", name)
        for i, item in enumerate(value):
            _check(spec.item, item, (*path, str(i)))
    elif isinstance(spec, Enum):
        if not isinstance(value, str) or value not in spec.values:
            raise invalid(f"Invalid {name}: must be one of {_one_of(spec.values)}", name)
    elif isinstance(spec, Empty):
        if value != "":
            raise invalid(f"Invalid {name}: must be an empty string", name)
    elif isinstance(spec, Scalar):
        _check_scalar(spec.kind, value, path)


def _check_object(spec: Obj, value: dict[str, Any], path: tuple[str, ...]) -> None:
    fields = spec.fields
    for key in value:
        if key not in fields:
            name = _name((*path, key))
            raise invalid(f"Received unknown parameter: {name}", name, "parameter_unknown")
    for key in sorted(spec.required):
        if key not in value:
            name = _name((*path, key))
            raise invalid(f"Missing required param: {name}.", name, "parameter_missing")
    for key, item in value.items():
        _check(fields[key], item, (*path, key))


def _check_scalar(kind: str, value: Any, path: tuple[str, ...]) -> None:
    if kind == "any":
        return
    name = _name(path)
    if isinstance(value, dict | list):
        raise invalid(f"Invalid {kind if kind != 'str' else 'string'}: {name}", name)
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if text == "":
        raise _empty(name)
    if kind == "int" and not re.fullmatch(r"-?\d+", text):
        raise invalid(f"Invalid integer: {text}", name, "parameter_invalid_integer")
    if kind == "bool" and text not in ("true", "false"):
        raise invalid(f"Invalid boolean: {text}", name)
    if kind == "decimal" and not re.fullmatch(r"-?\d+(\.\d+)?", text):
        raise invalid(f"Invalid decimal: {text}", name)
    if kind == "str" and path[-1] in _CURRENCY_KEYS and text.lower() not in CURRENCIES:
        raise invalid(
            f"Invalid currency: {text.lower()}. Stripe currently supports these currencies: "
            + ", ".join(sorted(CURRENCIES, key=lambda c: (c != "usd", c))),
            name,
        )


def _check_union(spec: OneOf, value: Any, path: tuple[str, ...]) -> None:
    if value == "" and any(isinstance(o, Empty) for o in spec.options):
        return
    shape = "dict" if isinstance(value, dict) else "list" if isinstance(value, list) else "str"
    candidates = [o for o in spec.options if _shape(o) == shape]
    if shape == "dict":
        # Among object alternatives, try first the one that knows most of the given keys.
        candidates.sort(key=lambda o: _unknown_keys(o, value))
    if not candidates:
        _check(spec.options[0], value, path)  # raises that alternative's shape error
        return
    errors: list[StripeError] = []
    for option in candidates:
        try:
            _check(option, value, path)
            return
        except StripeError as err:
            errors.append(err)
    raise errors[0]


def _shape(spec: Spec) -> str:
    if isinstance(spec, Obj | MapOf):
        return "dict"
    if isinstance(spec, ListOf):
        return "list"
    return "str"


def _unknown_keys(spec: Spec, value: dict[str, Any]) -> int:
    if isinstance(spec, Obj):
        return sum(1 for key in value if key not in spec.fields)
    return len(value)


def _one_of(values: tuple[str, ...]) -> str:
    if len(values) == 1:
        return values[0]
    return ", ".join(values[:-1]) + f", or {values[-1]}"


def _empty(name: str) -> StripeError:
    return invalid(
        f"You passed an empty string for '{name}'. We assume empty values are an attempt to "
        f"unset a parameter; however '{name}' cannot be unset. You should remove '{name}' "
        "from your request or supply a non-empty value.",
        name,
        "parameter_invalid_empty",
    )
