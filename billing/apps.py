from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        # Importing registers the checks, and the task queueing stored webhook events.
        from billing import checks, demo, tasks  # noqa: F401
        from billing.readiness import billing_setup
        from storefront.demo import register_seeder
        from storefront.readiness import register_check

        register_seeder(demo.seed)
        register_check("billing_setup", billing_setup)
