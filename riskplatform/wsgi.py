import os

from django.core.wsgi import get_wsgi_application

from riskplatform.env import settings_or_exit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "riskplatform.settings")
# Exit code 3 is gunicorn's "worker failed to boot": the master stops instead of forking new
# workers that fail the same way.
settings_or_exit(exit_code=3)
application = get_wsgi_application()
