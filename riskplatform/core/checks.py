"""System checks of the platform's own configuration (registered in CoreConfig.ready)."""

from collections.abc import Iterable

from django.core import checks
from django.db import DatabaseError, connection

from riskplatform.core.db_roles import connection_role_problems

# How much longer than a task's hard time limit the visibility timeout must be: the limit
# counts from the start of the run, the timeout from delivery, and after the limit the pool
# still has to kill the process, record the failure and acknowledge.
VISIBILITY_MARGIN = 600


def visibility_timeout_errors(
    tasks: Iterable, *, visibility_timeout: float, default_time_limit: float | None
) -> list[checks.Error]:
    """An error for each task whose hard time limit (its own, else the default) is not at
    least VISIBILITY_MARGIN below the broker's visibility timeout."""
    errors = []
    for task in sorted(tasks, key=lambda task: task.name):
        limit = task.time_limit if task.time_limit is not None else default_time_limit
        if limit is not None and limit + VISIBILITY_MARGIN <= visibility_timeout:
            continue
        shown = "no hard time limit" if limit is None else f"a hard time limit of {limit:g} s"
        errors.append(
            checks.Error(
                f"Celery task {task.name!r} has {shown}, not at least {VISIBILITY_MARGIN} s below "
                f"the broker's visibility timeout ({visibility_timeout:g} s): Redis would hand "
                "its message to a second worker while the first still runs it.",
                hint="Shorten the task's time_limit, or raise BROKER_VISIBILITY_TIMEOUT "
                "(docs/operations.md, 'Broker restarts').",
                obj=task.name,
                id="core.E001",
            )
        )
    return errors


def celery_visibility_timeout_check(app_configs=None, **kwargs) -> list[checks.Error]:
    from django.apps import apps

    from riskplatform.celery import app

    # Every installed app's tasks module, as the worker loads them. Not through
    # import_default_modules(): that runs the system checks again (Celery's Django fixup).
    app.loader.autodiscover_tasks([config.name for config in apps.get_app_configs()])
    options = app.conf.broker_transport_options or {}
    # kombu's own default when the option is unset.
    visibility_timeout = options.get("visibility_timeout", 3600)
    return visibility_timeout_errors(
        app.tasks.values(),
        visibility_timeout=visibility_timeout,
        default_time_limit=app.conf.task_time_limit,
    )


# `manage.py check --deploy`: the application's database connection must not be able to do
# what only the schema's owner may (docs/operations.md, "Security: database roles").
def database_role_check(app_configs=None, databases=None, **kwargs) -> list[checks.Warning]:
    try:
        with connection.cursor() as cursor:
            role, problems = connection_role_problems(cursor)
    except DatabaseError:
        return []  # no database to ask (a build host): nothing to say about its roles
    if not problems:
        return []
    return [
        checks.Warning(
            f"The application's database role {role} {'; '.join(problems)}.",
            hint="Connect web, workers and beat as the application role and migrate as the "
            "owner (DATABASE_MIGRATE_URL); `manage.py db_roles` sets both up "
            '(docs/operations.md, "Security: database roles").',
            id="riskplatform.W001",
        )
    ]
