from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from billing.api import router as billing_router
from storefront import errors, views
from storefront.api import api
from storefront.forms import EmailAuthenticationForm

api.add_router("/billing", billing_router)

# Pages that act as a customer carry it in the URL (/c/<id>/...), never only in the session,
# so two tabs on two different customers never interfere.
customer_pages = [
    path("", views.overview, name="overview"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/<int:key_id>/revoke/", views.revoke_api_key, name="revoke_api_key"),
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
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"
    ),
    # Machines
    path("healthz", views.healthz, name="healthz"),
    path("api/v2/storefront/", api.urls),
    path("admin/", admin.site.urls),
]

handler400 = errors.bad_request
handler403 = errors.permission_denied
handler404 = errors.page_not_found
handler500 = errors.server_error
