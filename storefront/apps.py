from django.apps import AppConfig
from django.db.models.signals import post_migrate


class StorefrontConfig(AppConfig):
    name = "storefront"
    verbose_name = "Storefront"

    def ready(self) -> None:
        from storefront.staff import ensure_platform_staff_group

        # After billing's migrations too: its permissions exist only once it has migrated.
        post_migrate.connect(ensure_platform_staff_group, dispatch_uid="platform-staff-group")
