from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from billing import demo
        from storefront.demo import register_seeder

        register_seeder(demo.seed)
