from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "riskplatform.core"
    label = "core"
    verbose_name = "Platform core"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in
        from django.core import checks

        from riskplatform.core.checks import celery_visibility_timeout_check, database_role_check
        from riskplatform.core.sessions import session_clock_start

        checks.register(celery_visibility_timeout_check, "celery")

        user_logged_in.connect(session_clock_start, dispatch_uid="session_clock_start")
        checks.register(database_role_check, checks.Tags.database, deploy=True)
