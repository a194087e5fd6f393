from __future__ import annotations

from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import BillingAccount
from tests.factories import make_customer, make_user


def test_the_billing_accounts_list_costs_the_same_queries_for_more_rows(client_as, db):
    client = client_as(make_user("root@platform.test", is_staff=True, is_superuser=True))

    def add_accounts(count):
        for _ in range(count):
            account = BillingAccount.objects.open_for(make_customer())
            account.change_fee_schedule(platform_fee_percent=Decimal("10"))

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/admin/billing/billingaccount/")
        assert response.status_code == 200
        return len(captured)

    add_accounts(2)
    few = queries()
    add_accounts(10)
    assert queries() == few
    assert "Platform 10 %" in client.get("/admin/billing/billingaccount/").content.decode()


def test_a_missing_billing_account_leads_back_to_the_admin_index_with_a_warning(client_as, db):
    client = client_as(make_user("root@platform.test", is_staff=True, is_superuser=True))

    response = client.get("/admin/billing/billingaccount/999999/change/", follow=True)

    assert response.redirect_chain == [("/admin/", 302)]
    assert "doesn’t exist. Perhaps it was deleted?" in response.content.decode()
