"""The drill is tooling: the platform's own packages never import it."""

import re

from django.conf import settings

PLATFORM = ("riskplatform/core", "patients", "predictions", "finance")


def test_no_platform_module_imports_the_drills():
    importing = re.compile(r"^\s*(from|import)\s+riskplatform\.drills\b", re.MULTILINE)
    offenders = [
        str(path.relative_to(settings.BASE_DIR))
        for package in PLATFORM
        for path in (settings.BASE_DIR / package).rglob("*.py")
        if importing.search(path.read_text())
    ]
    assert offenders == []
