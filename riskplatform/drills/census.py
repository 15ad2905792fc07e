"""What a population run left in the database, counted in SQL (so it works on any server a
fault test points at: the test database, or a PrivatePostgres through psycopg)."""

from dataclasses import dataclass


def _census_sql(*, planned: str, missing_over: str, run_figures: str, runs: str) -> str:
    """The census over `planned` patients (a query of patient_id) and the run rows `runs`:
    the version's rows counted once, the run rows' figures as `run_figures` sums them."""
    # Assembled from this module's constants only; values travel as query parameters.
    return f"""
WITH planned AS ({planned}),
     rows AS (SELECT patient_id, prediction_window, superseded_at FROM predictions
              WHERE model_version = %(version)s),
     current AS (SELECT patient_id, count(*) AS n FROM rows WHERE superseded_at IS NULL
                 GROUP BY patient_id)
SELECT
  (SELECT count(*) FROM planned),
  (SELECT count(*) FROM rows),
  (SELECT count(*) FROM rows WHERE superseded_at IS NULL),
  (SELECT count(*) FROM (SELECT 1 FROM rows GROUP BY patient_id, prediction_window
                         HAVING count(*) > 1) twice),
  (SELECT count(*) FROM {missing_over} LEFT JOIN current USING (patient_id)
    WHERE coalesce(current.n, 0) <> 3),
  (SELECT count(*) FROM financial_projections fp JOIN predictions p USING (prediction_id)
    WHERE p.model_version = %(version)s),
  {run_figures}
FROM scoring_runs r WHERE {runs}
"""  # noqa: S608


CENSUS_SQL = _census_sql(
    planned="SELECT unnest(patient_ids) AS patient_id FROM scoring_chunks WHERE run_id = %(run)s",
    missing_over="planned pl",
    run_figures="""r.status, r.patients_total, r.patients_scored, r.predictions_written,
  r.projections_written, r.chunks_done, r.chunks_total, r.error""",
    runs="r.run_id = %(run)s",
)


@dataclass(frozen=True)
class Census:
    planned: int
    prediction_rows: int
    current: int
    scored_twice: int  # (patient, window) pairs with more than one row of the version
    missing: int  # planned patients without exactly three current predictions
    projections: int
    status: str
    patients_total: int
    patients_scored: int
    predictions_written: int
    projections_written: int
    chunks_done: int
    chunks_total: int
    error: str

    @property
    def run_row_matches(self) -> bool:
        """The run row says exactly what the database holds."""
        return (
            self.status == "succeeded"
            and self.patients_scored == self.patients_total == self.planned
            and self.predictions_written == self.prediction_rows
            and self.projections_written == self.projections
            and self.chunks_done == self.chunks_total
        )

    @property
    def exact(self) -> bool:
        """One current prediction and one projection per patient and window, nothing
        missing, nothing twice, and a run row that says so."""
        return (
            self.scored_twice == 0
            and self.missing == 0
            and self.current == self.prediction_rows == self.projections == 3 * self.planned
            and self.run_row_matches
        )


def run_census(cursor, *, run_id: int, version: str) -> Census:
    cursor.execute(CENSUS_SQL, {"run": run_id, "version": version})
    return Census(*cursor.fetchone())


VERSION_CENSUS_SQL = _census_sql(
    planned="""SELECT unnest(c.patient_ids) AS patient_id FROM scoring_chunks c
                 JOIN scoring_runs r USING (run_id) WHERE r.model_version = %(version)s""",
    missing_over="patients p",
    run_figures="""CASE WHEN bool_and(r.status = 'succeeded') THEN 'succeeded'
       ELSE string_agg(DISTINCT r.status, ',') END,
  coalesce(sum(r.patients_total), 0), coalesce(sum(r.patients_scored), 0),
  coalesce(sum(r.predictions_written), 0), coalesce(sum(r.projections_written), 0),
  coalesce(sum(r.chunks_done), 0), coalesce(sum(r.chunks_total), 0),
  coalesce(string_agg(r.error, '; '), '')""",
    runs="r.model_version = %(version)s",
)


def version_census(cursor, *, version: str) -> Census:
    """The same figures over every run of `version` (scheduled scoring can make several),
    with `missing` counted over every patient in the database, not only the planned ones."""
    cursor.execute(VERSION_CENSUS_SQL, {"version": version})
    return Census(*cursor.fetchone())
