import pytest
from django.core.exceptions import ImproperlyConfigured

from riskplatform.env import env_bool, env_int, env_list, env_required


def test_booleans(monkeypatch):
    monkeypatch.setenv("FLAG", "yes")
    assert env_bool("FLAG", False) is True
    monkeypatch.setenv("FLAG", "0")
    assert env_bool("FLAG", True) is False
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG='maybe' is not a boolean"):
        env_bool("FLAG", True)
    monkeypatch.delenv("FLAG")
    assert env_bool("FLAG", True) is True


def test_required_and_typed_values(monkeypatch):
    monkeypatch.delenv("SOMETHING", raising=False)
    with pytest.raises(ImproperlyConfigured, match="SOMETHING is not set"):
        env_required("SOMETHING", "hint")
    monkeypatch.setenv("N", "x")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env_int("N", 1)
    monkeypatch.setenv("HOSTS", "a.example, b.example,")
    assert env_list("HOSTS", []) == ["a.example", "b.example"]


@pytest.mark.parametrize(
    ("process", "exit_code"),
    [
        (["manage.py", "check"], 2),
        (["-m", "celery", "-A", "riskplatform", "worker", "--pool", "solo"], 2),
        (["-m", "celery", "-A", "riskplatform", "beat"], 2),
        # 3: gunicorn's "worker failed to boot", so the master stops instead of retrying.
        (["-m", "gunicorn", "riskplatform.wsgi", "--bind", "127.0.0.1:0"], 3),
    ],
    ids=["manage.py", "celery worker", "celery beat", "gunicorn"],
)
@pytest.mark.parametrize("missing", ["DATABASE_URL", "REDIS_URL", "SECRET_KEY"])
def test_a_process_started_without_a_required_variable_stops_naming_it(process, exit_code,
                                                                        missing):  # fmt: skip
    # Started directly, as in production: nothing embedded is started in its place.
    import os
    import subprocess
    import sys

    from django.conf import settings

    env = {k: v for k, v in os.environ.items() if k != missing}
    done = subprocess.run(  # noqa: S603
        [sys.executable, *process], cwd=settings.BASE_DIR, env=env,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == exit_code, done.stderr
    assert f"riskplatform: {missing} is not set." in done.stderr
    assert "Traceback" not in done.stderr
