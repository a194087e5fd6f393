from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from billing import billing_api, billing_api_openapi
from billing import views as billing_views
from billing.api import router as billing_router
from storefront import errors, views
from storefront.api import api
from storefront.endpoints import router as storefront_router
from storefront.endpoints import storefront_without_slash
from storefront.forms import EmailAuthenticationForm

api.add_router("/billing", billing_router)
api.add_router("", storefront_router)

# Pages that act as a customer carry it in the URL (/c/<id>/...), never only in the session,
# so two tabs on two different customers never interfere.
customer_pages = [
    # The overview is billing's dashboard; this URLconf is where the apps meet.
    path("", billing_views.overview, name="overview"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/<int:key_id>/revoke/", views.revoke_api_key, name="revoke_api_key"),
    # Storefront: status, inventory sources, readiness, activation
    path("storefront/", views.storefront, name="storefront"),
    path("storefront/sources/", views.add_source, name="storefront_add_source"),
    path(
        "storefront/sources/<int:pk>/status/",
        views.change_source_status,
        name="storefront_source_status",
    ),
    path(
        "storefront/sources/<int:pk>/credential/",
        views.set_source_credential,
        name="storefront_source_credential",
    ),
    path("storefront/currency/", views.set_currency, name="storefront_currency"),
    path("storefront/status/", views.change_storefront_status, name="storefront_status"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("c/<int:customer_id>/", include(customer_pages)),
    path("", include("billing.urls")),
    # Accounts
    path(
        "login/",
        auth_views.LoginView.as_view(
            authentication_form=EmailAuthenticationForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", views.logout, name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"
    ),
    # Machines
    path("healthz", views.healthz, name="healthz"),
    path("api/v2/storefront", storefront_without_slash),
    path("api/v2/storefront/", api.urls),
    # The 3scale-style Billing API (/api/invoices.xml, …) and its OpenAPI document.
    path(
        "api/billing-api/openapi.json",
        billing_api_openapi.document_view,
        name="billing_api_openapi",
    ),
    path("api/", include(billing_api.urlpatterns)),
    path("admin/", admin.site.urls),
]

handler400 = errors.bad_request
handler403 = errors.permission_denied
handler404 = errors.page_not_found
handler500 = errors.server_error
