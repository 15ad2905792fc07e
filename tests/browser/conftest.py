"""Browser tests: Debian's Chromium driven by pytest-playwright against the live server."""

import os
import tempfile
from pathlib import Path

import pytest

from tests.browser.chromium import CHROMIUM, chromium_guard


def pytest_collection_modifyitems(config, items) -> None:
    chromium_guard(items)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"],
    }  # fmt: skip


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where the tests leave a picture of each screen (RISKPLATFORM_SCREENSHOTS to keep
    them, e.g. docs/screenshots for the README)."""
    folder = Path(os.environ.get("RISKPLATFORM_SCREENSHOTS") or tempfile.mkdtemp(prefix="shots-"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session", autouse=True)
def _plain_http():
    """The live server speaks plain HTTP on localhost, as `bin/run` does (HTTPS=0). Session
    scoped and autouse, so it is in place before the session's live server builds its
    middleware (which reads these settings once)."""
    from django.test.utils import override_settings

    with override_settings(
        SECURE_SSL_REDIRECT=False, SESSION_COOKIE_SECURE=False, CSRF_COOKIE_SECURE=False,
        SECURE_HSTS_SECONDS=0,
    ):  # fmt: skip
        yield


@pytest.fixture(scope="session")
def demo_cohort(tmp_path_factory):
    """A small generated cohort (the demo's generator) and window models trained once per
    session on its training sample: realistic tiers and money on every screen."""
    from patients.cohort import cohort_write
    from predictions.training import models_train, training_frame_read

    files = cohort_write(
        out_dir=tmp_path_factory.mktemp("cohort"), patients=600, seed=5, training_patients=4000
    )
    return files, models_train(frame=training_frame_read(files.training), seed=5, max_iter=80)


@pytest.fixture(scope="session", autouse=True)
def _orm_beside_playwright():
    # Playwright's sync API runs an event loop in the test thread; the ORM calls the tests
    # make between page actions (and the session's database setup, when the browser tests
    # come first) are plain synchronous code all the same. Session scope: in place before
    # Playwright's loop starts.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield
