"""Typed readers for settings that come from environment variables."""

import os
import sys
from collections.abc import Sequence

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def env_required(name: str, hint: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ImproperlyConfigured(f"{name} is not set. {hint}")
    return value


class MissingEnvironment(ImproperlyConfigured):
    """Required environment variables are unset: the process cannot start."""


def env_required_all(names: Sequence[str], hint: str) -> dict[str, str]:
    """The values of `names`, or MissingEnvironment naming every one that is unset."""
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise MissingEnvironment(f"{' and '.join(missing)} {verb} not set. {hint}")
    return {name: os.environ[name] for name in names}


def settings_or_exit(*, exit_code: int = 2) -> None:
    """Load Django's settings, or stop this process with the reason on one line of stderr
    instead of a traceback (web, worker, beat and manage.py call this first)."""
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018 (loading the settings is the point)
    except MissingEnvironment as exc:
        sys.stderr.write(f"riskplatform: {exc}\n")
        sys.stderr.flush()
        raise SystemExit(exit_code) from None


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false).")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]
