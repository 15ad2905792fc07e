import shutil

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_MISSING = pytest.mark.skipif(
    not shutil.which(CHROMIUM),
    reason=f"{CHROMIUM} is missing: install Debian's chromium package for the browser tests",
)
