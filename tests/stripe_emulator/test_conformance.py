"""The emulator accepts every parameter the SDK's types allow for the calls the product makes,
and refuses what Stripe refuses, with Stripe's error shapes.

The calls are found by parsing ``billing/gateway.py`` (direct ``client().v1....`` calls and the
generic helpers built on ``getattr(client().v1, ...)``) and the helpers' callers in
``billing/*.py``; the parameters come from the SDK's params TypedDicts through
``stripe_emulator.schema``. Nothing here lists endpoints or fields by hand.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import stripe

from stripe_emulator import resources
from stripe_emulator import schema as sdk_schema
from stripe_emulator.server import api
from tests.stripe_emulator.helpers import EXPRESS, onboarded_account, paid_invoice

ROOT = Path(__file__).resolve().parents[2]
BILLING = ROOT / "billing"

# --- which SDK methods the product calls ----------------------------------------------------


@dataclass(frozen=True)
class Call:
    chain: tuple[str, ...]  # services under ``client.v1``: ("billing_portal", "sessions")
    method: str  # "create"
    connected: bool  # sent with ``_on(account_id)``, i.e. as the connected account

    @property
    def label(self) -> str:
        return ".".join((*self.chain, self.method))


def _v1_chain(node: ast.AST) -> tuple[str, ...] | None:
    """``client().v1.a.b`` → ``("a", "b")``; anything else → None."""
    names: list[str] = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "client"):
        return None
    names.reverse()
    return tuple(names[1:]) if names[:1] == ["v1"] else None


def _uses_on(call: ast.Call) -> bool:
    return any(
        isinstance(n, ast.Call) and getattr(n.func, "id", None) == "_on"
        for arg in [*call.args, *(k.value for k in call.keywords)]
        for n in ast.walk(arg)
    )


@dataclass
class Helper:
    """A gateway function that picks its service or method from one of its arguments."""

    position: int  # index of that argument
    keyword: str
    chain: tuple[str, ...] | None  # fixed service (method from the argument) or None
    method: str | None  # fixed method (service from the argument) or None
    connected: bool
    allowed: tuple[str, ...]  # names the helper itself accepts, when it guards with a literal


def _gateway() -> tuple[set[Call], dict[str, Helper]]:
    tree = ast.parse((BILLING / "gateway.py").read_text())
    direct: set[Call] = set()
    helpers: dict[str, Helper] = {}
    for func in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
        arg_names = [a.arg for a in func.args.args]
        bound: dict[str, tuple[str, tuple[str, ...]]] = {}  # variable → (argument, chain)
        for node in ast.walk(func):
            # service = getattr(client().v1[.svc], argument) [if ... else ...]
            if not (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)):
                continue
            for sub in ast.walk(node.value):
                if (
                    isinstance(sub, ast.Call)
                    and getattr(sub.func, "id", None) == "getattr"
                    and isinstance(sub.args[1], ast.Name)
                    and sub.args[1].id in arg_names
                ):
                    chain = _v1_chain(sub.args[0])
                    if chain is not None:
                        bound[node.targets[0].id] = (sub.args[1].id, chain)
        guard = tuple(
            key.value
            for node in ast.walk(func)
            if isinstance(node, ast.Dict)
            for key in node.keys
            if isinstance(key, ast.Constant) and isinstance(key.value, str)
        )
        for node in ast.walk(func):
            if not isinstance(node, ast.Call):
                continue
            if isinstance(node.func, ast.Attribute):
                chain = _v1_chain(node.func.value)
                if chain is not None:
                    direct.add(Call(chain, node.func.attr, _uses_on(node)))
                    continue
                target = node.func.value
                if isinstance(target, ast.Name) and target.id in bound:
                    # service.list(...): the argument names the service, the method is fixed.
                    argument, _ = bound[target.id]
                    position = arg_names.index(argument)
                    on = _uses_on(node)
                    helpers[func.name] = Helper(position, argument, None, node.func.attr, on, ())
            elif isinstance(node.func, ast.Name) and node.func.id in bound:
                # method(...): the service is fixed, the argument names the method.
                argument, chain = bound[node.func.id]
                position = arg_names.index(argument)
                on = _uses_on(node)
                helpers[func.name] = Helper(position, argument, chain, None, on, guard)
    return direct, helpers


def _candidates(helper: Helper, module: ast.Module, client: stripe.StripeClient) -> list[str]:
    """Names a helper may receive from a caller that computes them: every string constant of
    the caller's module that the helper can take (narrowed by the helper's own guard)."""
    constants = {
        n.value
        for n in ast.walk(module)
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }
    if helper.method is not None:  # the argument names a service
        services = {c: getattr(client.v1, c, None) for c in constants if c.isidentifier()}
        return sorted(c for c, service in services.items() if hasattr(service, helper.method))
    service = client.v1
    for name in helper.chain or ():
        service = getattr(service, name)
    names = helper.allowed or tuple(constants)
    return sorted(c for c in names if c.isidentifier() and callable(getattr(service, c, None)))


def product_calls() -> list[Call]:
    client = stripe.StripeClient("sk_test_parse_only")
    calls, helpers = _gateway()
    for path in sorted(BILLING.glob("*.py")):
        module = ast.parse(path.read_text())
        for node in ast.walk(module):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in helpers
                and getattr(node.func.value, "id", None) == "gateway"
            ):
                continue
            helper = helpers[node.func.attr]
            given = [k.value for k in node.keywords if k.arg == helper.keyword]
            if len(node.args) > helper.position:
                given.append(node.args[helper.position])
            [value] = given
            if isinstance(value, ast.Constant):
                names = [value.value]
            else:
                names = _candidates(helper, module, client)
            for name in names:
                if helper.method is not None:
                    calls.add(Call((name,), helper.method, helper.connected))
                else:
                    calls.add(Call(helper.chain or (), name, helper.connected))
    return sorted(calls, key=lambda c: c.label)


PRODUCT_CALLS = product_calls()


def _endpoint(call: Call) -> sdk_schema.Endpoint:
    service: Any = stripe.StripeClient("sk_test_parse_only").v1
    for name in call.chain:
        service = getattr(service, name)
    cls = type(service)
    endpoint = sdk_schema.schema().function(f"{cls.__module__}.{cls.__qualname__}", call.method)
    assert endpoint is not None, f"no SDK route for {call.label}"
    return endpoint


def test_the_product_calls_are_found():
    labels = {c.label for c in PRODUCT_CALLS}
    for expected in (
        "accounts.create",
        "accounts.login_links.create",
        "invoices.create",
        "invoices.finalize_invoice",
        "invoice_items.list",
        "balance_transactions.list",
        "payouts.retrieve",
        "billing_portal.sessions.create",
    ):
        assert expected in labels
    # Every found call names a real SDK method with a /v1 route and a params type.
    for call in PRODUCT_CALLS:
        assert _endpoint(call).path.startswith("/v1/")


# --- the table covers the emulator ----------------------------------------------------------


def test_every_emulator_route_has_an_sdk_schema():
    for module in pkgutil.iter_modules(resources.__path__):  # routes register on import
        importlib.import_module(f"{resources.__name__}.{module.name}")
    table = sdk_schema.schema()
    missing = [f"{m} {t}" for m, t in api.templates if table.route(m, t) is None]
    assert missing == []
    assert len(api.templates) > 40


def test_the_table_is_derived_from_the_sdk():
    table = sdk_schema.schema()
    update = table.route("POST", "/v1/accounts/{id}")
    assert update is not None and update.params_class == "AccountUpdateParams"
    fields = update.spec.fields
    # Request options are headers, not body parameters.
    assert "stripe_account" not in fields and "idempotency_key" not in fields
    assert isinstance(fields["metadata"], sdk_schema.OneOf)
    link = table.route("POST", "/v1/account_links")
    assert link is not None and link.spec.required == {"account", "type"}
    status = table.route("GET", "/v1/invoices").spec.fields["status"]  # type: ignore[union-attr]
    assert isinstance(status, sdk_schema.Enum) and "paid" in status.values
    # Literal paths win over templates.
    assert table.find("POST", "/v1/invoices/create_preview").function == "create_preview"  # type: ignore[union-attr]
    assert table.find("POST", "/v1/invoices/in_123").function == "update"  # type: ignore[union-attr]


# --- values synthesized from the SDK types --------------------------------------------------


class World:
    """Real objects to point ids at: an onboarded account with a buyer, invoices and a payout."""

    def __init__(self, client: stripe.StripeClient, emulator: Any) -> None:
        self.client = client
        self.account = onboarded_account(client, emulator).id
        self.opts = {"stripe_account": self.account}
        paid = paid_invoice(client, self.account)
        emulator.advance(days=3, seconds=1)  # the daily automatic payout
        self.customer = str(paid.customer)
        customer = client.v1.customers.retrieve(self.customer, None, self.opts)
        self.payment_method = str(customer.invoice_settings.default_payment_method)
        [payout] = client.v1.payouts.list(None, self.opts).data
        self.payout = payout.id
        self.item = client.v1.invoice_items.create(
            {"customer": self.customer, "amount": 500, "currency": "usd"}, self.opts
        ).id
        self.invoice = self.draft()  # the invoice fields and paths name; replaced per call
        self.portal_configuration = client.v1.billing_portal.configurations.create(
            {"features": {"invoice_history": {"enabled": True}}}, self.opts
        ).id
        [charge] = client.v1.charges.list(None, self.opts).data
        self.charge, self.application_fee = charge.id, str(charge.application_fee)
        self.dispute = emulator.control("POST", f"charges/{charge.id}/dispute")["id"]
        self.refundable = emulator.control(
            "POST",
            "charges",
            account=self.account,
            amount=5_000,
            currency="usd",
            application_fee_amount=500,
        )["id"]
        # Funds a payout by hand can take (the dispute took the sale's).
        emulator.control(
            "POST", f"accounts/{self.account}/balance_adjustments", amount=100_000, currency="usd"
        )

    def draft(self) -> stripe.Invoice:
        """A fresh draft with one line, so each action meets an invoice it can act on."""
        invoice = self.client.v1.invoices.create(
            {"customer": self.customer, "collection_method": "send_invoice", "days_until_due": 7},
            self.opts,
        )
        return self.client.v1.invoices.add_lines(
            invoice.id, {"lines": [{"amount": 700, "description": "Setup"}]}, self.opts
        )

    def path_ids(self, call: Call, endpoint: sdk_schema.Endpoint) -> list[str]:
        ids = []
        for placeholder in re.findall(r"\{(\w+)\}", endpoint.path):
            if placeholder == "account":
                ids.append(self.account)
            elif placeholder == "invoice":
                if call.method in ("send_invoice", "pay", "void_invoice", "mark_uncollectible"):
                    # Actions on open invoices: finalize the draft first.
                    self.invoice = self.client.v1.invoices.finalize_invoice(
                        self.invoice.id, None, self.opts
                    )
                ids.append(self.invoice.id)
            elif placeholder == "invoiceitem":
                ids.append(self.item)
            elif placeholder == "payout":
                ids.append(self.payout)
            elif placeholder == "charge":
                ids.append(self.charge)
            elif placeholder == "dispute":
                ids.append(self.dispute)
            elif placeholder == "customer":
                ids.append(self.customer)
            elif placeholder == "payment_method":
                ids.append("pm_card_visa")  # a test card: attaching it makes the customer's own
            elif placeholder == "id" and endpoint.path.startswith("/v1/application_fees/"):
                ids.append(self.application_fee)
            else:
                raise AssertionError(f"no object for {{{placeholder}}} in {endpoint.path}")
        return ids

    def id_for(self, field: str) -> str | None:
        """A realistic id for a field that names an object, where we have one."""
        return {
            "account": self.account,
            "customer": self.customer,
            "invoice": self.invoice.id,
            "invoice_item": self.item,
            "payout": self.payout,
            "charge": self.refundable,
            "configuration": self.portal_configuration,
            "payment_method": self.payment_method,
            "default_payment_method": self.payment_method,
            "id": self.invoice.lines.data[0].id,  # update_lines / remove_lines name lines by id
        }.get(field)

    def call(self, call: Call, params: dict[str, Any], ids: list[str] | None = None) -> Any:
        endpoint = _endpoint(call)
        service: Any = self.client.v1
        for name in call.chain:
            service = getattr(service, name)
        if ids is None:
            ids = self.path_ids(call, endpoint)
        options = self.opts if call.connected else {}
        return getattr(service, call.method)(*ids, params, options)


def synthesize(spec: sdk_schema.Spec, field: str, world: World) -> Any:
    """A value of every field of ``spec``: first enum member, nested dicts, one-item lists."""
    if isinstance(spec, sdk_schema.Obj):
        return {key: synthesize(sub, key, world) for key, sub in spec.fields.items()}
    if isinstance(spec, sdk_schema.OneOf):
        # An object alternative covers the most parameters; else the first non-empty one.
        options = sorted(
            (o for o in spec.options if not isinstance(o, sdk_schema.Empty)),
            key=lambda o: not isinstance(o, sdk_schema.Obj),
        )
        return synthesize(options[0], field, world)
    if isinstance(spec, sdk_schema.ListOf):
        return [synthesize(spec.item, field, world)]
    if isinstance(spec, sdk_schema.MapOf):
        return {"key": synthesize(spec.value, "key", world)}
    if isinstance(spec, sdk_schema.Enum):
        return spec.values[0]
    if isinstance(spec, sdk_schema.Empty):
        return ""
    assert isinstance(spec, sdk_schema.Scalar)
    if spec.kind == "int":
        return 1
    if spec.kind == "bool":
        return True
    if spec.kind == "decimal":
        return "1.5"
    known = world.id_for(field)
    if known:
        return known
    if "currency" in field:
        return "usd"
    if field == "country":
        return "US"
    if "email" in field:
        return "someone@example.com"
    if field.endswith("url"):
        return "https://example.com/back"
    return "x"


# Semantic rules (not parameter validation) that a request with every field set runs into; the
# fields involved are adjusted so the request goes on to exercise the rest.
ADJUSTMENTS: list[tuple[str, Any]] = [
    # ``type`` and ``controller`` are mutually exclusive, and the first enum members of the
    # controller form a combination Stripe refuses for Express; use the product's combination.
    ("accounts.create", lambda p: p.pop("type")),
    (
        "accounts.create",
        lambda p: p.update(controller={**EXPRESS, "requirement_collection": "stripe"}),
    ),
    # Due dates go with ``send_invoice`` only (the first member is ``charge_automatically``).
    ("invoices.create", lambda p: p.update(collection_method="send_invoice")),
    ("invoices.update", lambda p: p.update(collection_method="send_invoice")),
    # The emulator implements direct charges only (documented): no destination invoices.
    ("invoices.create", lambda p: p.pop("transfer_data")),
    # A new customer's card is attached by the same request (a test card), and is its default.
    (
        "customers.create",
        lambda p: (
            p.update(payment_method="pm_card_visa"),
            p["invoice_settings"].update(default_payment_method="pm_card_visa"),
        ),
    ),
    # A payout goes to the account's default bank account when no destination is named.
    ("payouts.create", lambda p: p.pop("destination")),
    # A refund names the charge or the payment intent (the emulator has no payment intents).
    ("refunds.create", lambda p: p.pop("payment_intent")),
    # A direct charge has no transfer to reverse.
    ("refunds.create", lambda p: p.pop("reverse_transfer")),
]

PARAMETER_CODES = ("parameter_unknown", "parameter_missing", "parameter_invalid")
TYPE_MESSAGES = re.compile(
    r"^(Invalid (integer|boolean|decimal|string|hash|array|currency)\b"
    r"|Invalid \S+: must be one of"
    r"|Received unknown parameter|Missing required param|You passed an empty string)"
)


@pytest.fixture
def world(stripe_client, stripe_emulator) -> World:
    return World(stripe_client, stripe_emulator)


@pytest.mark.parametrize("call", PRODUCT_CALLS, ids=lambda c: c.label)
def test_every_parameter_of_the_sdk_type_is_accepted(call: Call, world: World):
    endpoint = _endpoint(call)
    ids = world.path_ids(call, endpoint)  # first: fields may name the same objects
    params = synthesize(endpoint.spec, "", world)
    assert set(params) == set(endpoint.spec.fields)  # really every parameter
    # ``expand`` names fields of the response, not a request parameter (tested on its own).
    del params["expand"]
    if call.method == "list":
        _list_adjustments(world, call, ids, params)
    for label, adjust in ADJUSTMENTS:
        if label == call.label:
            adjust(params)
    try:
        world.call(call, params, ids)
    except stripe.StripeError as err:
        # With the adjustments above no business rule is left in the way, so any refusal is
        # a failure; say whether it was about the parameters (the point of this test).
        message = err.user_message or ""
        about_params = (err.code or "").startswith(PARAMETER_CODES) or TYPE_MESSAGES.match(message)
        kind = "for its parameters" if about_params else "for another reason"
        pytest.fail(f"{call.label} was refused {kind}: {err.http_status} {err.code} {message}")


def _list_adjustments(world: World, call: Call, ids: list[str], params: dict[str, Any]) -> None:
    """A cursor names an object of the list it pages: page after the newest object matching
    the synthesized filters (none match: no cursor). ``ending_before`` pages the other way and
    goes with no other cursor, so it is left out."""
    del params["ending_before"]
    filters = {k: v for k, v in params.items() if k != "starting_after"}
    newest = world.call(call, {**filters, "limit": 1}, ids).data
    if newest:
        params["starting_after"] = newest[0].id
    else:
        del params["starting_after"]


def _an_object_field(spec: sdk_schema.Obj) -> str | None:
    for key, sub in spec.fields.items():
        options = sub.options if isinstance(sub, sdk_schema.OneOf) else (sub,)
        if any(isinstance(o, sdk_schema.Obj) for o in options):
            return key
    return None


@pytest.mark.parametrize("call", PRODUCT_CALLS, ids=lambda c: c.label)
def test_unknown_parameters_are_refused(call: Call, world: World):
    endpoint = _endpoint(call)
    with pytest.raises(stripe.InvalidRequestError) as top:
        world.call(call, {"bogus_param": "x"})
    assert top.value.code == "parameter_unknown"
    assert top.value.error.param == "bogus_param"
    assert top.value.user_message == "Received unknown parameter: bogus_param"
    nested = _an_object_field(endpoint.spec)
    if nested is not None:
        # Required top-level fields are given, so the only thing wrong is the nested key.
        required = {
            k: synthesize(endpoint.spec.fields[k], k, world) for k in endpoint.spec.required
        }
        with pytest.raises(stripe.InvalidRequestError) as inner:
            world.call(call, {**required, nested: {"bogus": "x"}})
        assert inner.value.code == "parameter_unknown"
        assert inner.value.error.param == f"{nested}[bogus]"


def test_most_product_calls_have_a_nested_object_to_probe():
    probed = [c for c in PRODUCT_CALLS if _an_object_field(_endpoint(c).spec)]
    # Some calls take nothing nested at all (reading an invoice's lines takes only paging
    # parameters), so "most" is two in five: enough that the nested probe is never vacuous.
    assert len(probed) * 5 >= len(PRODUCT_CALLS) * 2


# --- focused refusals -----------------------------------------------------------------------


def _refusal(call) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        call()
    assert caught.value.http_status == 400
    assert caught.value.error.type == "invalid_request_error"
    return caught.value


def test_unknown_parameter_on_account_create(stripe_client):
    err = _refusal(
        lambda: stripe_client.v1.accounts.create(
            {"controller": {**EXPRESS, "fees": {"payer": "application", "bogus": "x"}}}
        )
    )
    assert (err.code, err.error.param) == ("parameter_unknown", "controller[fees][bogus]")
    assert err.user_message == "Received unknown parameter: controller[fees][bogus]"
    err = _refusal(lambda: stripe_client.v1.accounts.create({"business_profile": {"bogus": 1}}))
    assert err.error.param == "business_profile[bogus]"


def test_enum_outside_the_set_on_a_list(stripe_client):
    err = _refusal(lambda: stripe_client.v1.invoices.list({"status": "bogus"}))
    assert err.error.param == "status"
    assert err.user_message == (
        "Invalid status: must be one of draft, open, paid, uncollectible, or void"
    )
    assert stripe_client.v1.invoices.list({"status": "paid"}).data == []


def test_bad_integer_and_union_alternatives(stripe_client):
    err = _refusal(lambda: stripe_client.v1.invoices.list({"limit": "ten"}))
    assert (err.code, err.error.param) == ("parameter_invalid_integer", "limit")
    assert err.user_message == "Invalid integer: ten"
    # ``created`` is ``int | {gt, gte, lt, lte}``: either alternative is fine, nothing else.
    assert stripe_client.v1.invoices.list({"created": 1}).data == []
    assert stripe_client.v1.invoices.list({"created": {"gte": 1}}).data == []
    err = _refusal(lambda: stripe_client.v1.invoices.list({"created": {"after": 1}}))
    assert (err.code, err.error.param) == ("parameter_unknown", "created[after]")
    err = _refusal(lambda: stripe_client.v1.invoices.list({"created": "yesterday"}))
    assert err.code == "parameter_invalid_integer"


def test_bad_boolean_and_shapes(stripe_client):
    caps = {"transfers": {"requested": "yes"}}
    err = _refusal(lambda: stripe_client.v1.accounts.create({"capabilities": caps}))
    assert err.error.param == "capabilities[transfers][requested]"
    assert err.user_message == "Invalid boolean: yes"
    err = _refusal(lambda: stripe_client.v1.accounts.create({"business_profile": "shop"}))
    assert (err.error.param, err.user_message) == ("business_profile", "Invalid hash")
    err = _refusal(lambda: stripe_client.v1.invoices.list({"expand": {"a": "b"}}))
    assert (err.error.param, err.user_message) == ("expand", "Invalid array")


def test_empty_string_only_where_the_type_allows_unset(stripe_client):
    err = _refusal(lambda: stripe_client.v1.customers.create({"email": ""}))
    assert (err.code, err.error.param) == ("parameter_invalid_empty", "email")
    # metadata is ``Literal[''] | Dict``: "" unsets it.
    assert stripe_client.v1.customers.create({"metadata": ""}).metadata.to_dict() == {}


def test_missing_required_param(stripe_client):
    err = _refusal(lambda: stripe_client.v1.account_links.create({"type": "account_onboarding"}))
    assert (err.code, err.error.param) == ("parameter_missing", "account")
    assert err.user_message == "Missing required param: account."


def test_expand_is_accepted_everywhere(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    paid_invoice(stripe_client, account.id)
    opts = {"stripe_account": account.id}
    [invoice] = stripe_client.v1.invoices.list({"expand": ["data.customer"]}, opts).data
    assert invoice.customer.object == "customer"


def test_unsupported_currency(stripe_client, stripe_emulator):
    err = _refusal(lambda: stripe_client.v1.accounts.create({"default_currency": "zzz"}))
    assert err.error.param == "default_currency"
    assert err.user_message.startswith("Invalid currency: zzz. Stripe currently supports")
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    customer = stripe_client.v1.customers.create({}, opts)
    item = {"customer": customer.id, "amount": 100, "currency": "zzz"}
    err = _refusal(lambda: stripe_client.v1.invoice_items.create(item, opts))
    assert err.error.param == "currency"
    # Stripe takes upper case and answers in lower case.
    upper = stripe_client.v1.invoice_items.create({**item, "currency": "EUR"}, opts)
    assert upper.currency == "eur"


def test_unsupported_country(stripe_client):
    params = {"country": "ZZ", "controller": EXPRESS}
    err = _refusal(lambda: stripe_client.v1.accounts.create(params))
    assert err.error.param == "country"
    assert err.user_message == "ZZ is not currently supported by Stripe."
    assert stripe_client.v1.accounts.create({**params, "country": "FR"}).default_currency == "eur"


@pytest.mark.parametrize(
    ("controller", "param"),
    [
        ({**EXPRESS, "fees": {"payer": "account"}}, "controller[fees][payer]"),
        ({**EXPRESS, "losses": {"payments": "stripe"}}, "controller[losses][payments]"),
        (
            {**EXPRESS, "requirement_collection": "application"},
            "controller[requirement_collection]",
        ),
        ({"stripe_dashboard": {"type": "express"}}, "controller[fees][payer]"),  # the defaults
    ],
)
def test_express_needs_the_platform_to_pay_fees_and_own_losses(stripe_client, controller, param):
    err = _refusal(lambda: stripe_client.v1.accounts.create({"controller": controller}))
    assert err.error.param == param
    assert err.user_message.startswith("When stripe_dashboard[type]=express")


def test_express_accounts_that_stripe_allows(stripe_client):
    full = {**EXPRESS, "requirement_collection": "stripe"}
    account = stripe_client.v1.accounts.create({"controller": full})
    assert account.type == "express"
    assert account.controller.fees.payer == "application"
    legacy = stripe_client.v1.accounts.create({"type": "express"})
    assert legacy.controller.stripe_dashboard.type == "express"


def test_no_dashboard_with_stripe_collection_needs_stripe_liability(stripe_client):
    controller = {
        "stripe_dashboard": {"type": "none"},
        "fees": {"payer": "application"},
        "losses": {"payments": "application"},
    }
    err = _refusal(lambda: stripe_client.v1.accounts.create({"controller": controller}))
    assert err.error.param == "controller[losses][payments]"
    custom = stripe_client.v1.accounts.create(
        {"controller": {**controller, "requirement_collection": "application"}}
    )
    assert custom.type == "custom"


def test_any_capability_the_api_knows_may_be_requested(stripe_client):
    caps = {"transfers": {"requested": True}, "us_bank_account_ach_payments": {"requested": True}}
    account = stripe_client.v1.accounts.create({"controller": EXPRESS, "capabilities": caps})
    assert set(account.capabilities.to_dict()) == {"transfers", "us_bank_account_ach_payments"}
    err = _refusal(
        lambda: stripe_client.v1.accounts.create(
            {"capabilities": {"teleport": {"requested": True}}}
        )
    )
    assert (err.code, err.error.param) == ("parameter_unknown", "capabilities[teleport]")
