from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from billing.models import BalanceTransaction, BillingAccount, ConnectAccount
from billing.money import format_money, to_major
from billing.pagination import InvalidCursor, keyset_page


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "expected"),
    [
        (123456, "usd", "en_US", "$1,234.56"),
        (-5, "usd", "en_US", "-$0.05"),
        (1234, "jpy", "en_US", "¥1,234"),
        (1234, "JPY", "ja_JP", "￥1,234"),
        (123456, "eur", "de_DE", "1.234,56\xa0€"),
        (1234567, "kwd", "en_US", "KWD1,234.567"),
        (123456, "huf", "en_US", "HUF1,234.56"),  # two decimals in Stripe's API
        (0, "gbp", "en_GB", "£0.00"),
    ],
)
def test_format_money(amount, currency, locale, expected):
    assert format_money(amount, currency, locale) == expected


# Locales whose currency patterns differ in what the formatter reimplements: grouping (Indian
# 2-digit groups, none), separators (narrow no-break space, apostrophe, Arabic and Persian
# signs), affixes on either side with a space or a bidi mark, a minus sign other than "-",
# and a negative pattern of its own (accounting style is not the standard one, but nl's
# "¤ -1,00" and similar are).
BABEL_LOCALES = [
    "en_US",
    "en_IN",
    "hi_IN",
    "de_DE",
    "de_CH",
    "fr_FR",
    "fr_CH",
    "nl_NL",
    "sv_SE",
    "fi_FI",
    "nb_NO",
    "da_DK",
    "pl_PL",
    "cs_CZ",
    "ru_RU",
    "uk_UA",
    "tr_TR",
    "es_ES",
    "es_MX",
    "pt_BR",
    "pt_PT",
    "it_IT",
    "ja_JP",
    "zh_CN",
    "zh_Hant_TW",
    "ko_KR",
    "ar_EG",
    "ar_SA",
    "fa_IR",
    "he_IL",
    "ur_PK",
    "bn_BD",
    "th_TH",
    "vi_VN",
    "id_ID",
    "sw_KE",
    "am_ET",
    "my_MM",
    "lt_LT",
    "lv_LV",
    "et_EE",
    "hu_HU",
    "ro_RO",
    "el_GR",
    "ka_GE",
    "kk_KZ",
    "ne_NP",
    "ps_AF",
]


@pytest.mark.parametrize("locale", BABEL_LOCALES)
def test_format_money_prints_what_babel_prints(locale):
    """The formatter applies the locale's pattern itself (Babel's per-call work was most of a
    ledger row's cost): whatever it prints, Babel prints for the same amount in major units."""
    import copy

    from babel import Locale
    from babel.numbers import parse_pattern

    from billing.money import minor_unit_exponent

    standard = parse_pattern(Locale.parse(locale).currency_formats["standard"])
    amounts = [0, 1, -1, 5, 99, -100, 1234, -98765, 1_234_567, -123_456_789_012, 10**17]
    for currency in ("usd", "eur", "jpy", "kwd", "huf", "inr", "clp"):
        pattern = copy.copy(standard)
        exponent = minor_unit_exponent(currency)
        pattern.frac_prec = (exponent, exponent)  # Stripe's decimals, not Babel's
        for amount in amounts:
            babel = pattern.apply(
                to_major(amount, currency), locale, currency=currency.upper(), currency_digits=False
            )
            assert format_money(amount, currency, locale) == babel, (amount, currency, locale)


def test_to_major_is_exact():
    assert to_major(1, "usd") == Decimal("0.01")
    assert to_major(10**15 + 1, "usd") == Decimal("10000000000000.01")
    assert to_major(7, "jpy") == Decimal(7)


@pytest.fixture
def ledger(cast):
    account = BillingAccount.objects.create(customer=cast.parent)
    connect = ConnectAccount.objects.create(
        billing_account=account, stripe_id="acct_x", country="US"
    )
    base = datetime(2026, 1, 1, tzinfo=UTC)
    # Pairs share a timestamp, so the id tie-break matters.
    rows = [
        BalanceTransaction(
            connect_account=connect,
            stripe_id=f"txn_{i:03}",
            amount=i,
            fee=0,
            net=i,
            currency="usd",
            type="charge",
            status="available",
            created=base + timedelta(seconds=i // 2),
        )
        for i in range(57)
    ]
    BalanceTransaction.objects.bulk_create(rows)
    return BalanceTransaction.objects.filter(connect_account=connect)


def test_walking_every_page_visits_each_row_once_newest_first(ledger):
    seen, cursor = [], None
    while True:
        page = keyset_page(ledger, limit=10, starting_after=cursor)
        seen += [row.stripe_id for row in page.items]
        cursor = page.cursor
        if cursor is None:
            break
        assert page.has_more
    assert seen == [row.stripe_id for row in ledger.order_by("-created", "-id")]
    assert len(seen) == len(set(seen)) == 57


def test_the_last_page_has_no_cursor(ledger):
    page = keyset_page(ledger, limit=100)
    assert not page.has_more and page.cursor is None


def test_an_unknown_id_or_a_forged_cursor_is_refused(ledger):
    with pytest.raises(InvalidCursor):
        keyset_page(ledger, starting_after="txn_not_here")
    with pytest.raises(InvalidCursor):
        keyset_page(ledger, starting_after="cur_%%%not-base64")


def test_a_stripe_id_works_as_starting_after_too(ledger):
    newest = list(ledger.order_by("-created", "-id")[:11])
    page = keyset_page(ledger, limit=5, starting_after=newest[4].stripe_id)
    assert [row.stripe_id for row in page.items] == [row.stripe_id for row in newest[5:10]]


def test_limits_outside_1_to_100_are_refused(ledger):
    for limit in (0, 101):
        with pytest.raises(ValueError):
            keyset_page(ledger, limit=limit)


def test_deep_pages_cost_one_query_like_the_first(ledger, django_assert_num_queries):
    cursor = keyset_page(ledger, limit=50).cursor
    with django_assert_num_queries(1):
        keyset_page(ledger, limit=5)
    with django_assert_num_queries(1):
        keyset_page(ledger, limit=5, starting_after=cursor)


@pytest.mark.parametrize(
    "payload", [b"9" * 30 + b":1", b"1700000000000000:0", b"1700000000000000:" + b"9" * 25]
)
def test_out_of_range_cursors_are_invalid_not_errors(ledger, payload):
    import base64

    forged = "cur_" + base64.urlsafe_b64encode(payload).decode().rstrip("=")
    with pytest.raises(InvalidCursor):
        keyset_page(ledger, starting_after=forged)
