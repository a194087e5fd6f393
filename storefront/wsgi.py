import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storefront.settings")
application = get_wsgi_application()

from storefront.startup import refuse_to_start_on_errors  # noqa: E402 - needs Django set up

refuse_to_start_on_errors()
