import os
import shutil

import pytest

# RISKPLATFORM_CHROMIUM lets a test point at a missing browser to check the CI guard.
CHROMIUM = os.environ.get("RISKPLATFORM_CHROMIUM", "/usr/bin/chromium")
# bin/test installs Debian's chromium when it is missing and it may (root, apt-get). Outside
# CI a machine without it skips the browser tests with the reason; in CI (CI=true) the run
# stops at collection instead, so it can never pass with them skipped.
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
CHROMIUM_MISSING = pytest.mark.skipif(
    not shutil.which(CHROMIUM),
    reason=f"{CHROMIUM} is missing: install Debian's chromium package for the browser tests",
)


def chromium_guard(items) -> None:
    browser_tests = [item for item in items if "tests/browser/" in item.nodeid]
    if IN_CI and browser_tests and not shutil.which(CHROMIUM):
        raise pytest.UsageError(
            f"{CHROMIUM} is missing and CI is set: the {len(browser_tests)} browser tests must "
            "run. Install Debian's chromium package (bin/test does it when run as root)."
        )
