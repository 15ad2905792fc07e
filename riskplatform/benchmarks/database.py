import contextlib
from collections.abc import Iterator

from django.db import connection


@contextlib.contextmanager
def throwaway_database() -> Iterator[str]:
    """A fresh, migrated database next to the configured one, dropped afterwards, so that a
    benchmark never touches real data."""
    settings_dict = connection.settings_dict
    original = settings_dict["NAME"]
    settings_dict["TEST"] = {**settings_dict.get("TEST", {}), "NAME": f"{original}_benchmark"}
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield name
    finally:
        connection.creation.destroy_test_db(original, verbosity=0)
