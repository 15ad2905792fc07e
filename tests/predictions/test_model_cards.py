"""Model cards: the registry list and one version's card (metrics, calibration, current
scores, comparison with the active version, fairness panel), on real PostgreSQL."""

from decimal import Decimal

import pytest
from django.urls import reverse

from patients.models import Department
from patients.services import user_role_assign
from predictions.card_selectors import HISTOGRAM_BINS, model_card_read
from predictions.fairness import (
    AUC_GAP_LIMIT,
    CALIBRATION_GAP_LIMIT,
    MIN_GROUP_N,
    GroupFairness,
    fairness_warnings,
    selection_ratios,
)
from predictions.models import Prediction
from predictions.reevaluation import model_reevaluate
from predictions.scoring_runs import population_score, scoring_run_create
from predictions.services import model_version_register
from riskplatform.core.models import AccessAction, AccessEvent
from riskplatform.core.roles import Role
from tests.factories import ModelVersionFactory, PatientFactory, PredictionFactory

pytestmark = pytest.mark.django_db

WINDOWS = ("30_day", "60_day", "90_day")


@pytest.fixture
def analyst_client(client, django_user_model):
    django_user_model.objects.create_user(username="ana", password="not-used-here")
    user_role_assign(username="ana", role=Role.ANALYST, department_codes=[], changed_by="test")
    client.force_login(django_user_model.objects.get(username="ana"))
    return client


@pytest.fixture
def scored(active_version, patients_with_features):
    population_score(run_id=scoring_run_create(version="v1.0", changed_by="test").pk)
    return active_version


@pytest.fixture
def compared_candidate(scored, toy_models):
    model_version_register(
        version="v1.1",
        models=toy_models.models,
        encoding=toy_models.encoding,
        changed_by="test",
        metrics=toy_models.metrics,
    )
    return model_reevaluate(changed_by="test", candidate="v1.1")


# --- the pure warning rules, on hand-built numbers ---------------------------------------


def _group(name: str, **figures) -> GroupFairness:
    base = {"holdout_n": 200, "auc": 0.75, "mean_predicted": 0.20, "observed_rate": 0.20,
            "scored_n": 1000, "selected_n": 150}  # fmt: skip
    return GroupFairness(attribute="race", group=name, **{**base, **figures})


def test_equal_groups_raise_no_warning():
    groups = [_group("White"), _group("Black"), _group("Hispanic")]
    assert fairness_warnings(overall_auc=0.75, groups=groups) == []
    assert selection_ratios(groups) == {"White": 1.0, "Black": 1.0, "Hispanic": 1.0}


def test_a_far_lower_selection_rate_is_flagged_by_the_four_fifths_rule():
    groups = [_group("White", selected_n=200), _group("Black", selected_n=80)]
    warnings = fairness_warnings(overall_auc=0.75, groups=groups)
    assert len(warnings) == 1
    assert "8.0% of Black patients" in warnings[0] and "20.0% of White" in warnings[0]
    assert selection_ratios(groups)["Black"] == pytest.approx(0.4)
    # Just inside the rule: 0.8 of the highest share is not flagged.
    assert (
        fairness_warnings(
            overall_auc=0.75,
            groups=[_group("White", selected_n=200), _group("Black", selected_n=160)],
        )
        == []
    )


def test_auc_and_calibration_gaps_are_flagged_beyond_their_limits():
    worse = _group("Black", auc=0.75 - AUC_GAP_LIMIT - 0.01)
    under = _group("Hispanic", observed_rate=0.20 + CALIBRATION_GAP_LIMIT + 0.01)
    warnings = fairness_warnings(overall_auc=0.75, groups=[_group("White"), worse, under])
    assert len(warnings) == 2
    assert warnings[0].startswith("AUC for Black is 0.690 against 0.750")
    assert warnings[1].startswith("Scores understate the risk of Hispanic")
    inside = _group("Black", auc=0.75 - AUC_GAP_LIMIT + 0.01)
    assert fairness_warnings(overall_auc=0.75, groups=[_group("White"), inside]) == []


def test_small_groups_are_shown_but_not_judged():
    tiny = _group("Other", holdout_n=MIN_GROUP_N - 1, auc=0.5, scored_n=MIN_GROUP_N - 1,
                  selected_n=0)  # fmt: skip
    assert fairness_warnings(overall_auc=0.75, groups=[_group("White"), tiny]) == []
    assert "Other" not in selection_ratios([_group("White"), tiny])


# --- the card ----------------------------------------------------------------------------


def test_card_of_the_active_version(analyst_client, scored, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        response = analyst_client.get(reverse("model-card", args=["v1.0"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Model card v1.0" in html
    assert "This is the active version." in html
    assert html.count('aria-label="Calibration, ') == 3  # the toy models stored their bins
    assert html.count('aria-label="Current scores, ') == 3
    assert "Obermeyer et al." in html
    # Aggregates only: no patient identifier reaches the page.
    for patient in PatientFactory._meta.model.objects.all():
        assert str(patient.patient_uuid) not in html
        assert patient.external_id not in html
    stored = scored.metrics["windows"]["30_day"]
    assert f"{stored['auc']:.3f}" in html
    event = AccessEvent.objects.get()
    assert (event.action, event.report, event.username) == (
        AccessAction.REPORT_VIEW, "model-card:v1.0", "ana")  # fmt: skip
    assert event.patient_count == 0


def test_card_of_a_candidate_shows_the_comparison(
    analyst_client, compared_candidate, django_assert_max_num_queries
):
    with django_assert_max_num_queries(10):
        response = analyst_client.get(reverse("model-card", args=["v1.1"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "v1.1 against v1.0" in html
    for panel in response.context["panels"]:
        window = panel["window"].window
        summary = compared_candidate.summary["windows"][window]
        shown = panel["window"].comparison
        counts = ("patients", "kept", "raised", "lowered")
        assert [shown[k] for k in counts] == [summary[k] for k in counts]
        assert [row["counts"] for row in shown["matrix"]] == summary["matrix"]
        # Same models under both labels: every tier is kept, on the matrix's diagonal.
        assert sum(row["counts"][row["tier"] - 1] for row in shown["matrix"]) == shown["kept"]
        assert f"{summary['patients']} patients: {summary['kept']} kept their tier" in html
    # The comparison's top movers name patients; the card does not show them.
    for mover in compared_candidate.summary["windows"]["30_day"]["top_movers"]:
        assert mover["patient_uuid"] not in html


def test_histogram_counts_equal_the_current_predictions(scored):
    card = model_card_read(version="v1.0")
    for window in card.windows:
        expected = [0] * HISTOGRAM_BINS
        for score in Prediction.objects.filter(
            model_version="v1.0", prediction_window=window.window, superseded_at__isnull=True,
            patient__is_active=True,
        ).values_list("risk_score", flat=True):  # fmt: skip
            expected[min(int(score * HISTOGRAM_BINS), HISTOGRAM_BINS - 1)] += 1
        assert window.histogram == expected
        assert sum(window.histogram) == 25


def _constructed_version(**metric_figures):
    """A version whose stored metrics are equal for every group, but whose current scores
    select White patients and not Black ones."""
    group = {"n": 120, "auc": 0.74, "mean_predicted": 0.2, "observed_rate": 0.2,
             "calibration_slope": 1.0, "calibration_intercept": 0.0}  # fmt: skip
    window = {**group, "n": 240, "brier": 0.15, **metric_figures,
              "by_race": {"Black": group, "White": group},
              "by_gender": {"F": {**group, "n": 240}}}  # fmt: skip
    version = ModelVersionFactory(
        version="f1.0", metrics={"windows": dict.fromkeys(WINDOWS, window)}
    )
    cardio = Department.objects.get(department_code="CARDIO")
    for race, score in (("White", "0.8000"), ("Black", "0.2000")):
        for patient in PatientFactory.create_batch(MIN_GROUP_N + 10, race=race, department=cardio):
            PredictionFactory(patient=patient, model_version=version, risk_score=Decimal(score))
    return version


def test_fairness_warning_on_the_page_for_a_far_lower_selection_rate(analyst_client):
    _constructed_version()
    response = analyst_client.get(reverse("model-card", args=["f1.0"]))
    html = response.content.decode()
    assert 'class="warning"' in html
    assert "0.0% of Black patients are selected as high or critical against 100.0% of White" in html
    thirty = response.context["panels"][0]
    race, gender = thirty["fairness"]
    assert race["attribute"] == "race" and len(race["warnings"]) == 1
    assert [(r["group"], r["scored_n"], r["selected_n"]) for r in race["rows"]] == [
        ("Black", MIN_GROUP_N + 10, 0), ("White", MIN_GROUP_N + 10, MIN_GROUP_N + 10)]  # fmt: skip
    # Every patient is F: one gender group, nothing to compare, no warning.
    assert gender["warnings"] == []
    # Metrics without calibration points (trained before they were stored): slope and
    # intercept, and the plot waits for a retrain.
    assert "The plot needs a retrain" in html
    assert 'aria-label="Calibration, ' not in html


def test_the_list_links_every_version(
    analyst_client, compared_candidate, django_assert_max_num_queries
):
    from predictions.models import ModelMonitoringRun

    ModelMonitoringRun.objects.create(
        model_version_id="v1.0", status="succeeded", created_by="test",
        warnings=[{"kind": "auc", "message": "30 days: AUC fell"}],
    )  # fmt: skip
    with django_assert_max_num_queries(6):
        response = analyst_client.get(reverse("model-cards"))
    assert response.status_code == 200
    html = response.content.decode()
    for version in ("v1.0", "v1.1"):
        assert f'href="{reverse("model-card", args=[version])}"' in html
    rows = {row["version"]: row for row in response.context["rows"]}
    assert rows["v1.0"]["status"] == "active" and rows["v1.1"]["status"] == "candidate"
    assert rows["v1.1"]["compared"] and not rows["v1.0"]["compared"]
    assert rows["v1.0"]["auc"] == [compared_candidate.baseline.metrics["windows"][w]["auc"]
                                   for w in WINDOWS]  # fmt: skip
    assert AccessEvent.objects.get().report == "model-cards"
    assert (rows["v1.0"]["monitoring_status"], rows["v1.1"]["monitoring_status"]) == (
        "succeeded", None)  # fmt: skip
    assert "1 warning</a>" in html and "not yet" in html


def test_anonymous_is_sent_to_login_and_roleless_users_are_refused(
    client, django_user_model, scored
):
    url = reverse("model-card", args=["v1.0"])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert client.get(reverse("model-cards")).status_code == 302
    client.force_login(django_user_model.objects.create_user(username="nobody"))
    assert client.get(url).status_code == 403
    assert not AccessEvent.objects.exists()


def test_unknown_version_is_not_found(analyst_client):
    assert analyst_client.get(reverse("model-card", args=["v9.9"])).status_code == 404
