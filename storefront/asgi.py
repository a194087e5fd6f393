import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storefront.settings")
application = get_asgi_application()

from storefront.startup import refuse_to_start_on_errors  # noqa: E402 - needs Django set up

refuse_to_start_on_errors()
