"""System check core.E001: no task may run longer than Redis keeps its message invisible."""

from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from riskplatform.celery import app
from riskplatform.core.checks import (
    VISIBILITY_MARGIN,
    celery_visibility_timeout_check,
    visibility_timeout_errors,
)


@pytest.fixture
def too_long_task(settings):
    name = "tests.visibility.too_long"

    @app.task(name=name, time_limit=settings.BROKER_VISIBILITY_TIMEOUT)
    def too_long() -> None:
        pass

    yield name
    app.tasks.unregister(name)


def test_the_platforms_tasks_fit_the_visibility_timeout():
    assert celery_visibility_timeout_check() == []


def test_a_task_whose_time_limit_reaches_the_visibility_timeout_fails_the_check(too_long_task):
    errors = celery_visibility_timeout_check()

    assert [(error.id, error.obj) for error in errors] == [("core.E001", too_long_task)]
    assert "second worker" in errors[0].msg


def test_manage_py_check_refuses_it(too_long_task):
    with pytest.raises(SystemCheckError, match=too_long_task):
        call_command("check")


def test_todays_long_tasks_fail_under_kombus_default_of_one_hour():
    saved = app.conf.broker_transport_options
    app.conf.broker_transport_options = {"visibility_timeout": 3600}
    try:
        failing = {error.obj for error in celery_visibility_timeout_check()}
    finally:
        app.conf.broker_transport_options = saved

    assert {"predictions.reevaluate", "predictions.score_population"} <= failing


def test_a_task_without_its_own_limit_is_judged_by_the_default():
    task = SimpleNamespace(name="t", time_limit=None)

    def errors(default, timeout):
        return visibility_timeout_errors(
            [task], visibility_timeout=timeout, default_time_limit=default
        )

    assert errors(3600, 3600 + VISIBILITY_MARGIN) == []
    assert [e.obj for e in errors(3600, 3600 + VISIBILITY_MARGIN - 1)] == ["t"]
    assert "no hard time limit" in errors(None, 10**9)[0].msg  # unbounded never fits
