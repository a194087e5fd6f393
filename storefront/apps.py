from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


class StorefrontConfig(AppConfig):
    name = "storefront"
    verbose_name = "Storefront"

    def ready(self) -> None:
        from storefront.access import forget_switchers
        from storefront.models import Customer, Membership
        from storefront.staff import ensure_platform_staff_group

        # After billing's migrations too: its permissions exist only once it has migrated.
        post_migrate.connect(ensure_platform_staff_group, dispatch_uid="platform-staff-group")
        # Who may switch to which customer changed: the cached switcher lists go.
        for model in (Customer, Membership):
            for signal in (post_save, post_delete):
                signal.connect(forget_switchers, sender=model, dispatch_uid=f"switcher-{model}")
