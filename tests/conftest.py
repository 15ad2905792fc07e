import pytest
from django.db import IntegrityError, transaction

from tests import factories


@pytest.fixture
def department(db):
    return factories.DepartmentFactory()


@pytest.fixture
def patient(db):
    return factories.PatientFactory()


@pytest.fixture
def model_version(db):
    return factories.ModelVersionFactory(version="v1.0", status="active")


@pytest.fixture
def assert_db_rejects():
    """Run `action` and require PostgreSQL to reject it by the named constraint (or by one of
    several, where a row breaks more than one and PostgreSQL reports the first it checks)."""

    def check(action, constraint: str | tuple[str, ...]) -> None:
        with pytest.raises(IntegrityError) as caught, transaction.atomic():
            action()
        diag = caught.value.__cause__.diag
        expected = (constraint,) if isinstance(constraint, str) else constraint
        assert diag.constraint_name in expected, diag.message_primary

    return check


@pytest.fixture
def scored_population(db):
    from tests.scenarios import build_scored_population

    return build_scored_population()


@pytest.fixture(autouse=True)
def _test_client_settings(settings):
    # The test client speaks HTTP; production's HTTPS redirect is checked by check --deploy.
    settings.SECURE_SSL_REDIRECT = False
    # Pages render without a collectstatic run (production serves the hashed manifest).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
