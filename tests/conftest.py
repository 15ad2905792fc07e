import pytest
from django.db import IntegrityError, transaction

from tests import db_roles, factories

# Fixtures of the fault-test helpers (private servers that can be stopped and started).
pytest_plugins = ["tests.faults.postgres"]


# The suite connects as the application role; the test database is created, migrated and
# dropped by the owner (tests/db_roles.py).
@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    db_roles.suite_roles_prepare()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from django.core.management.commands.flush import Command as Flush

    with django_db_blocker.unblock():
        db_roles.suite_connect_as_app()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Flush, "handle", db_roles.flush_as_owner(Flush.handle))
        yield
    with django_db_blocker.unblock():
        db_roles.suite_connect_as_owner()


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
    # Inside a test's transaction other connections see nothing: score on this one.
    settings.SCORING_WORKERS = 1
    # The test client speaks HTTP; production's HTTPS redirect is checked by check --deploy.
    settings.SECURE_SSL_REDIRECT = False
    # Pages render without a collectstatic run (production serves the hashed manifest).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(scope="session")
def toy_models():
    """Window models trained once per session on a small toy frame."""
    from predictions.training import models_train
    from tests.predictions.toy_data import toy_training_frame

    return models_train(frame=toy_training_frame(), seed=1, max_iter=40)


@pytest.fixture(scope="session")
def small_cohort(tmp_path_factory):
    """A 400-patient generated cohort and window models trained on its training sample,
    once per session: the demo quarter's tests and the page walks play it."""
    from patients.cohort import cohort_write
    from predictions.training import models_train, training_frame_read

    files = cohort_write(
        out_dir=tmp_path_factory.mktemp("quarter"), patients=400, seed=11, training_patients=3000
    )
    return files, models_train(frame=training_frame_read(files.training), seed=11, max_iter=40)


@pytest.fixture
def active_version(db, toy_models):
    from predictions.model_store import model_cache_clear
    from predictions.services import model_version_activate, model_version_register

    model_cache_clear()
    model_version_register(
        version="v1.0",
        models=toy_models.models,
        encoding=toy_models.encoding,
        changed_by="test",
        metrics=toy_models.metrics,
    )
    return model_version_activate(version="v1.0", changed_by="test")


@pytest.fixture
def patients_with_features(db):
    """25 patients with varied features in two departments."""
    from decimal import Decimal

    from patients.models import Department
    from tests.factories import PatientFactory, PatientFeaturesFactory

    cardio = Department.objects.get(department_code="CARDIO")
    nephro = Department.objects.get(department_code="NEPHRO")
    patients = []
    for i in range(25):
        patient = PatientFactory(
            department=cardio if i % 2 else nephro,
            annual_cost=Decimal(5000 + 3000 * i),
            age=66 + i,
        )
        PatientFeaturesFactory(
            patient=patient,
            has_chf=2 if i % 3 == 0 else 1,
            total_admissions_2008=Decimal(i % 5),
        )
        patients.append(patient)
    return patients


@pytest.fixture
def reference_data(transactional_db):
    """Departments, intervention policies and role groups for transactional tests: a flush
    after an earlier transactional test empties the tables that the data migrations filled."""
    import importlib

    from django.apps import apps

    for module in ("patients.migrations.0002_seed_departments",
                   "finance.migrations.0002_seed_intervention_policies",
                   "riskplatform.core.migrations.0006_role_groups"):  # fmt: skip
        seed = importlib.import_module(module)
        for operation in seed.Migration.operations:
            operation.code(apps, None)


def pytest_terminal_summary(terminalreporter) -> None:
    """Say how many browser tests ran: CI must show they did (README, .ci/run)."""
    counts = {
        outcome: sum(1 for r in terminalreporter.stats.get(outcome, [])
                     if getattr(r, "nodeid", "").startswith("tests/browser/"))
        for outcome in ("passed", "failed", "error", "skipped")
    }  # fmt: skip
    if any(counts.values()):
        ran = ", ".join(f"{n} {outcome}" for outcome, n in counts.items() if n)
        terminalreporter.write_line(f"browser tests (real Chromium): {ran}")
