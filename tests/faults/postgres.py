"""The `private_postgres` fixture (registered in tests/conftest.py): a PrivatePostgres
(riskplatform/drills/postgres.py) holding a copy of the migrated test database."""

from collections.abc import Iterator

import pytest

from riskplatform.drills.postgres import PrivatePostgres


@pytest.fixture
def private_postgres(transactional_db, reference_data) -> Iterator[PrivatePostgres]:
    """A running private server holding a copy of the migrated test database and its
    reference data; stopped and deleted after the test. Transactional, so that the copy sees
    the reference rows (pg_dump reads committed data only)."""
    from riskplatform.core.db import database_url

    with PrivatePostgres() as server:
        server.load_copy_of(database_url())
        yield server
