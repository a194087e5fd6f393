from __future__ import annotations

import re

from storefront.models import ApiKey


def url(customer) -> str:
    return f"/c/{customer.pk}/api-keys/"


def create(client, customer, **data):
    data.setdefault("name", "ERP sync")
    data.setdefault("scopes", ["billing:read"])
    return client.post(url(customer), data)


def test_it_lists_the_customers_keys(cast, client_as):
    ApiKey.issue(user=cast.parent_owner, customer=cast.parent, name="Reporting", scopes=[])
    ApiKey.issue(user=cast.stranger, customer=cast.other, name="Not yours", scopes=[])
    html = client_as(cast.parent_owner).get(url(cast.parent)).content.decode()
    assert "Reporting" in html
    assert "Not yours" not in html


def test_it_creates_a_key_and_shows_it_once(cast, client_as):
    client = client_as(cast.parent_owner)
    posted = create(client, cast.parent, scopes=["billing:read", "billing:write"])
    assert posted.status_code == 302  # post/redirect/get: a reload cannot make a second key
    response = client.get(posted["Location"])
    assert response["Cache-Control"] == "no-store"
    raw = re.search(r'value="(sfk_[^"]+)"', response.content.decode()).group(1)
    key = ApiKey.objects.get()
    assert ApiKey.objects.authenticate(raw) == key
    assert (key.user, key.customer, key.scopes) == (
        cast.parent_owner,
        cast.parent,
        ["billing:read", "billing:write"],
    )
    assert raw not in client.get(url(cast.parent)).content.decode()


def test_a_parent_admin_creates_keys_for_a_child(cast, client_as):
    create(client_as(cast.parent_owner), cast.child)
    assert ApiKey.objects.get().customer == cast.child


def test_it_refuses_scopes_beyond_the_role(cast, client_as):
    response = create(client_as(cast.parent_owner), cast.parent, scopes=["billing:admin"])
    assert response.status_code == 400
    assert "not one of the available choices" in response.content.decode()
    assert not ApiKey.objects.exists()


def test_a_missing_name_rerenders_with_the_chosen_scopes_kept(cast, client_as):
    response = create(
        client_as(cast.parent_owner), cast.parent, name="  ", scopes=["storefront:read"]
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required" in html or "Give the key a name" in html
    assert re.search(r'value="storefront:read"[^>]*checked', html)
    assert not re.search(r'value="billing:write"[^>]*checked', html)


def test_members_may_not_manage_keys(cast, client_as):
    client = client_as(cast.parent_viewer)
    assert client.get(url(cast.parent)).status_code == 403
    assert create(client, cast.parent).status_code == 403
    assert not ApiKey.objects.exists()


def test_it_hides_other_tenants(cast, client_as):
    response = create(client_as(cast.child_owner), cast.parent)
    assert response.status_code == 404
    assert not ApiKey.objects.exists()


def test_revoke(cast, client_as):
    key, _ = ApiKey.issue(user=cast.parent_owner, customer=cast.parent, name="Old", scopes=[])
    response = client_as(cast.parent_owner).post(f"{url(cast.parent)}{key.pk}/revoke/")
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_revoke_with_htmx_swaps_just_the_row(cast, client_as):
    key, _ = ApiKey.issue(user=cast.parent_owner, customer=cast.parent, name="Old", scopes=[])
    response = client_as(cast.parent_owner).post(
        f"{url(cast.parent)}{key.pk}/revoke/", HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert html.strip().startswith(f'<tr id="key-{key.pk}"')
    assert "revoked" in html
    assert "<html" not in html


def test_revoke_rejects_get(cast, client_as):
    key, _ = ApiKey.issue(user=cast.parent_owner, customer=cast.parent, name="Old", scopes=[])
    assert (
        client_as(cast.parent_owner).get(f"{url(cast.parent)}{key.pk}/revoke/").status_code == 405
    )


def test_revoke_cannot_reach_another_customers_key(cast, client_as):
    key, _ = ApiKey.issue(user=cast.stranger, customer=cast.other, name="Theirs", scopes=[])
    response = client_as(cast.parent_owner).post(f"{url(cast.parent)}{key.pk}/revoke/")
    assert response.status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None


def test_a_members_403_page_still_shows_who_they_act_as(cast, client_as):
    response = client_as(cast.parent_viewer).get(url(cast.parent))
    assert response.status_code == 403
    assert 'data-testid="acting-customer">Northwind Media<' in response.content.decode()


def test_it_offers_the_billing_api_scope(cast, client_as):
    html = client_as(cast.parent_owner).get(url(cast.parent)).content.decode()
    assert 'value="finance"' in html and "Billing API" in html


def test_the_form_offers_read_only_by_default_and_warns_about_write_scopes(cast, client_as):
    html = client_as(cast.parent_owner).get(url(cast.parent)).content.decode()
    checked = set(re.findall(r'value="([a-z:]+)"[^>]*checked', html))
    assert checked == {"billing:read", "storefront:read"}
    assert 'data-testid="write-scope-warning"' in html
    assert "billing:write" in html and "storefront:write" in html  # offered, not ticked


def test_a_key_with_write_scopes_is_flagged_when_shown_and_listed(cast, client_as):
    client = client_as(cast.parent_owner)
    response = client.get(create(client, cast.parent, scopes=["storefront:write"])["Location"])
    html = response.content.decode()
    assert 'data-testid="new-key-writes"' in html
    assert "can write" in html
    read_only = client.get(create(client, cast.parent, name="Reader")["Location"])
    assert 'data-testid="new-key-writes"' not in read_only.content.decode()


def test_keys_issued_with_the_earlier_prefix_keep_working(cast):
    import secrets

    from storefront.models import hash_api_key_secret

    client_id = "a" * 32
    raw = f"scope3_{client_id}_{secrets.token_urlsafe(32)}"
    old = ApiKey.objects.create(
        user=cast.parent_owner,
        customer=cast.parent,
        name="Old",
        prefix="scope3_",
        client_id=client_id,
        secret_hash=hash_api_key_secret(raw),
        scopes=["billing:read"],
    )
    assert ApiKey.objects.authenticate(raw) == old
    assert old.visible_prefix == "scope3_aaaaaaaa"
    # The same id and secret under the other prefix is a different key: refused.
    assert ApiKey.objects.authenticate("sfk_" + raw[len("scope3_") :]) is None
    _, new_raw = ApiKey.issue(user=cast.parent_owner, customer=cast.parent, name="New", scopes=[])
    assert new_raw.startswith("sfk_")
