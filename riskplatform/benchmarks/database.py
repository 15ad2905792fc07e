import contextlib
import os
from collections.abc import Iterator

from django.db import connection

from riskplatform.benchmarks.sandbox import DATABASE_VARIABLE


@contextlib.contextmanager
def throwaway_database() -> Iterator[str]:
    """A fresh, migrated database next to the configured one, dropped afterwards, so that a
    benchmark never touches real data. Its name comes from the sandbox (unique per run, and
    dropped by the sandbox too should this process die before its `finally`)."""
    settings_dict = connection.settings_dict
    original = settings_dict["NAME"]
    name = os.environ.get(DATABASE_VARIABLE) or f"{original}_benchmark"
    settings_dict["TEST"] = {**settings_dict.get("TEST", {}), "NAME": name}
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield name
    finally:
        connection.creation.destroy_test_db(original, verbosity=0)
