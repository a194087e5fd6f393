"""The ledger filter's widgets are rendered once per value and reused (billing.forms)."""

from __future__ import annotations

import pytest
from django.forms import BoundField

from billing.forms import LedgerFilterForm


def _plain(form: LedgerFilterForm) -> list[str]:
    """What Django renders for each field, without the reuse."""
    return [
        str(BoundField.as_widget(form[name]))  # the parent class's rendering
        for name in form.fields
    ]


@pytest.mark.parametrize(
    "data",
    [
        None,
        {},
        {"kind": "refunds"},
        {"kind": "refunds", "status": "pending", "payout": "po_1<b>"},
        {"since": "not a date"},  # in error: aria-invalid
        {"since": "2025-02-01", "until": "2025-01-01"},  # a form error, fields valid
        {"kind": "no-such-kind"},
        {"after": "cur_x"},  # a page's cursor, no filter
    ],
)
def test_each_widget_is_what_django_renders_for_that_value(data):
    # Twice in a row and after other values: a reused widget is never another value's.
    for _ in range(2):
        for other in (None, {"kind": "sales"}, {"since": "bad"}):
            str(LedgerFilterForm(other)["kind"])
        form = LedgerFilterForm(data)
        form.is_valid()
        assert [str(field) for field in form] == _plain(form)


def test_a_value_in_error_is_marked_invalid_and_the_same_value_valid_is_not():
    invalid = LedgerFilterForm({"payout": "x" * 300})  # over max_length
    assert not invalid.is_valid()
    assert 'aria-invalid="true"' in str(invalid["payout"])
    assert "selected" in str(LedgerFilterForm({"kind": "refunds"})["kind"])
    assert 'value="refunds" selected' not in str(LedgerFilterForm(None)["kind"])


def test_a_prefixed_form_gets_its_own_names():
    assert 'name="kind"' in str(LedgerFilterForm({})["kind"])
    prefixed = LedgerFilterForm({}, prefix="f")
    assert [str(field) for field in prefixed] == _plain(prefixed)
    assert 'name="f-kind"' in str(prefixed["kind"])
