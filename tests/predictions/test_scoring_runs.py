"""Runs made of chunks: leases, fencing, counts from committed rows, one unfinished run per
version, the forward-only status, exhausted chunks, and the sweep (in one process; the
multi-process faults are in tests/faults/)."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from finance.models import FinancialProjection
from predictions import scoring_runs
from predictions.models import Prediction, RunStatus, ScoringChunk, ScoringRun
from predictions.scoring_chunks import (
    LeaseLost,
    chunk_claim,
    chunk_fence,
    chunk_renew,
    lease_holder_name,
)
from predictions.scoring_runs import (
    population_score,
    scoring_run_create,
    scoring_run_plan,
    scoring_run_work,
    scoring_runs_sweep,
)
from riskplatform.core.models import AuditEvent, AuditLog

pytestmark = pytest.mark.django_db


def _planned(chunk_size: int = 10) -> ScoringRun:
    run = scoring_run_create(version="v1.0", changed_by="test", chunk_size=chunk_size)
    return scoring_run_plan(run_id=run.pk)


def _claim(run: ScoringRun, holder: str, lease: float = 60):
    return chunk_claim(run_id=run.pk, holder=holder, lease_seconds=lease, max_attempts=5)


def _wait_until_expired(chunk_id: int) -> None:
    # The lease ends on PostgreSQL's clock; ask it (a bounded wait on the event itself).
    with connection.cursor() as cursor:
        for _ in range(200):
            cursor.execute(
                "SELECT lease_expires_at <= clock_timestamp(), pg_sleep(0.02) "
                "FROM scoring_chunks WHERE chunk_id = %s",
                [chunk_id],
            )
            if cursor.fetchone()[0]:
                return
    raise AssertionError("lease did not expire")


def test_planning_cuts_the_patients_into_chunks(active_version, patients_with_features):
    run = _planned(chunk_size=10)
    assert (run.status, run.patients_total, run.chunks_total) == (RunStatus.RUNNING, 25, 3)
    sizes = list(run.chunks.order_by("chunk_no").values_list("chunk_no", "patient_ids"))
    assert [(no, len(ids)) for no, ids in sizes] == [(0, 10), (1, 10), (2, 5)]
    everyone = sorted(p.pk for p in patients_with_features)
    assert [pid for _, ids in sizes for pid in ids] == everyone
    assert scoring_run_plan(run_id=run.pk).chunks_total == 3  # planned once
    assert ScoringChunk.objects.filter(run=run).count() == 3


def test_a_version_has_one_unfinished_run_and_a_second_scheduler_joins_it(
    active_version, patients_with_features, assert_db_rejects
):
    first = scoring_run_create(version="v1.0", changed_by="beat-1")
    second = scoring_run_create(version="v1.0", changed_by="beat-2")
    assert second.pk == first.pk
    assert_db_rejects(
        lambda: ScoringRun.objects.create(model_version_id="v1.0", created_by="raw"),
        "scoring_runs_one_unfinished_per_version",
    )
    population_score(run_id=first.pk)
    assert scoring_run_create(version="v1.0", changed_by="later").pk != first.pk


def test_postgresql_refuses_to_move_a_run_backwards(active_version, patients_with_features):
    run = population_score(run_id=_planned().pk)
    assert run.status == RunStatus.SUCCEEDED
    for status in (RunStatus.RUNNING, RunStatus.PENDING, RunStatus.FAILED):
        with (
            pytest.raises(IntegrityError, match="cannot move from succeeded"),
            transaction.atomic(),
        ):
            ScoringRun.objects.filter(pk=run.pk).update(status=status)


def test_a_lapsed_holder_cannot_write_after_its_chunk_was_taken_over(
    active_version, patients_with_features
):
    run = _planned()
    stale = _claim(run, "host-a:1", lease=0.2)
    _wait_until_expired(stale.chunk_id)
    assert not chunk_renew(claim=stale, lease_seconds=60)  # a lapsed lease is not extended
    fresh = _claim(run, "host-b:2")
    assert (fresh.chunk_id, fresh.token, fresh.attempts) == (stale.chunk_id, 2, 2)
    with pytest.raises(LeaseLost, match="reclaimed"), transaction.atomic():
        chunk_fence(claim=stale)
    chunk_fence(claim=fresh)  # the current holder passes


def test_an_expired_lease_refuses_the_write_even_if_nobody_took_it(
    active_version, patients_with_features
):
    run = _planned()
    claim = _claim(run, "host-a:1", lease=0.2)
    _wait_until_expired(claim.chunk_id)
    with pytest.raises(LeaseLost, match="expired"), transaction.atomic():
        chunk_fence(claim=claim)


def test_a_renewed_lease_keeps_the_chunk(active_version, patients_with_features):
    run = _planned()
    claim = _claim(run, "host-a:1", lease=60)
    assert chunk_renew(claim=claim, lease_seconds=60)
    assert _claim(run, "host-b:2").chunk_no == 1  # the held chunk is skipped, not taken


def test_the_late_write_of_a_paused_worker_is_refused_and_nothing_is_doubled(
    active_version, patients_with_features, monkeypatch, settings, caplog
):
    """Worker A stalls while scoring chunk 0 until its lease has ended; worker B takes the
    chunk over and finishes the run; A's write is then refused by the fencing check."""
    settings.SCORING_LEASE_SECONDS = 0.3
    run = _planned(chunk_size=10)
    real_predict = scoring_runs.patients_predict
    stalled = {"done": False}

    def stalls_once(**kwargs):
        predicted = real_predict(**kwargs)
        if not stalled["done"]:
            stalled["done"] = True
            _wait_until_expired(run.chunks.get(chunk_no=0).chunk_id)
            scoring_run_work(run_id=run.pk, holder="host-b:2", wait=False)  # B, meanwhile
        return predicted

    monkeypatch.setattr(scoring_runs, "patients_predict", stalls_once)
    done = scoring_run_work(run_id=run.pk, holder="host-a:1")

    assert "write refused" in caplog.text
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    chunk0 = run.chunks.get(chunk_no=0)
    assert (chunk0.fencing_token, chunk0.attempts, chunk0.status) == (2, 2, "done")
    assert done.chunks == 0  # A wrote nothing: B took every chunk
    current = Prediction.objects.filter(superseded_at__isnull=True)
    assert current.count() == Prediction.objects.count() == 75  # nothing scored twice
    per_patient = current.values("patient_id").annotate(n=Count("prediction_id"))
    assert {row["n"] for row in per_patient} == {3}
    assert FinancialProjection.objects.count() == 75
    assert (run.patients_scored, run.predictions_written, run.projections_written) == (25, 75, 75)


def test_run_figures_are_the_sums_of_its_committed_chunks(active_version, patients_with_features):
    run = population_score(run_id=_planned(chunk_size=7).pk)
    sums = run.chunks.aggregate(
        patients=Sum("patients_scored"), predictions=Sum("predictions_written"),
        projections=Sum("projections_written"),
    )  # fmt: skip
    assert sums == {"patients": 25, "predictions": 75, "projections": 75}
    assert (run.patients_scored, run.predictions_written, run.chunks_done) == (25, 75, 4)
    event = AuditLog.objects.get(event_type=AuditEvent.PREDICTION_RUN, entity_id=run.pk)
    assert event.new_values["status"] == "succeeded" and event.new_values["chunks"] == 4


def test_a_chunk_that_keeps_failing_fails_the_run_naming_it(
    active_version, patients_with_features, monkeypatch, settings
):
    settings.SCORING_CHUNK_MAX_ATTEMPTS = 2
    settings.SCORING_RETRY_BACKOFF_SECONDS = 0
    real_predict = scoring_runs.patients_predict
    run = _planned(chunk_size=10)
    poisoned = set(run.chunks.get(chunk_no=1).patient_ids)

    def fails_on_chunk_1(**kwargs):
        if set(kwargs["ids"]) == poisoned:
            raise ValueError("feature row unreadable")
        return real_predict(**kwargs)

    monkeypatch.setattr(scoring_runs, "patients_predict", fails_on_chunk_1)
    for _ in range(2):
        with pytest.raises(ValueError, match="unreadable"):
            scoring_run_work(run_id=run.pk)
    done = scoring_run_work(run_id=run.pk)

    run.refresh_from_db()
    assert done.ended and run.status == RunStatus.FAILED
    assert "1 chunk(s) failed after 2 attempts; unfinished chunks: 1" in run.error
    assert "ValueError: feature row unreadable" in run.error
    assert (run.patients_scored, run.chunks_done) == (15, 2)  # what committed, no more
    assert Prediction.objects.count() == 45


def test_the_sweep_plans_forgotten_runs_and_ends_finished_ones(
    active_version, patients_with_features, settings
):
    settings.SCORING_REDISPATCH_SECONDS = 0
    forgotten = scoring_run_create(version="v1.0", changed_by="cli --async")  # message lost
    ScoringRun.objects.filter(pk=forgotten.pk).update(
        created_at=timezone.now() - timezone.timedelta(minutes=5)
    )
    result = scoring_runs_sweep()
    assert result.planned == [forgotten.pk] and result.dispatched == [forgotten.pk]
    forgotten.refresh_from_db()
    assert forgotten.status == RunStatus.RUNNING and forgotten.dispatched_at is not None

    # Every chunk written, but whoever wrote the last one died before ending the run.
    for chunk in forgotten.chunks.all():
        chunk.status, chunk.finished_at = "done", timezone.now()
        chunk.save()
    assert scoring_runs_sweep().ended == [forgotten.pk]
    forgotten.refresh_from_db()
    assert forgotten.status == RunStatus.SUCCEEDED


def test_the_sweep_asks_again_only_when_nobody_holds_a_lease(
    active_version, patients_with_features, settings
):
    settings.SCORING_REDISPATCH_SECONDS = 0
    run = _planned()
    held = _claim(run, lease_holder_name())
    assert scoring_runs_sweep().dispatched == []  # a live holder is moving it
    ScoringChunk.objects.filter(pk=held.chunk_id).update(lease_expires_at=timezone.now())
    assert scoring_runs_sweep().dispatched == [run.pk]
