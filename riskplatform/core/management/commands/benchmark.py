from django.conf import settings
from django.core.management.base import BaseCommand

from riskplatform.benchmarks.database import throwaway_database
from riskplatform.benchmarks.machine import machine_description
from riskplatform.benchmarks.pipeline import pipeline_benchmark


class Command(BaseCommand):
    help = "Measure the platform and print figures (runs in a throwaway database)."

    def add_arguments(self, parser) -> None:
        benchmarks = parser.add_subparsers(dest="benchmark", required=True)
        pipeline = benchmarks.add_parser("pipeline", help="Scenario 1: import, score, refresh")
        pipeline.add_argument("--patients", type=int, default=3000)
        pipeline.add_argument(
            "--naive-patients",
            type=int,
            default=300,
            help="patients pushed through the per-row path (its time is extrapolated)",
        )
        pipeline.add_argument("--chunk-size", type=int, default=5000)
        pipeline.add_argument("--training-patients", type=int, default=5000)

    def handle(self, *args, benchmark: str, **options) -> None:
        with throwaway_database():
            machine = machine_description()
            if benchmark == "pipeline":
                self._pipeline(machine, **options)

    def _pipeline(self, machine: str, *, patients, naive_patients, chunk_size, training_patients,
                  **_) -> None:  # fmt: skip
        figures = pipeline_benchmark(
            patients=patients,
            naive_patients=min(naive_patients, patients),
            chunk_size=chunk_size,
            training_patients=training_patients,
            say=self.stderr.write,
        )
        out = self.stdout.write
        out(f"\nScenario 1 for {patients:,} patients, chunks of {chunk_size:,}")
        out(f"Machine: {machine}\n")
        out(f"{'step':<40} {'rows':>10} {'seconds':>9} {'rows/s':>10}")
        for step in figures.bulk:
            out(f"{step.name:<40} {step.rows:>10,} {step.seconds:>9.3f} {step.rate:>10,.0f}")
        out(f"{'bulk path total (without training)':<40} {'':>10} {figures.bulk_seconds:>9.3f}")
        out(f"\nInside the scoring run ({settings.SCORING_WORKERS} threads; thread-seconds):")
        for step in figures.scoring_split:
            out(f"  {step.name:<38} {step.rows:>10,} {step.seconds:>9.3f}")
        out(f"\nPer-row path (one ORM save() per row), measured on {figures.naive_patients:,} "
            "patients:")  # fmt: skip
        for step in figures.naive:
            out(f"{step.name:<40} {step.rows:>10,} {step.seconds:>9.3f} {step.rate:>10,.0f}")
        out(
            f"{'per-row path, extrapolated':<40} {patients:>10,} "
            f"{figures.naive_seconds_estimated:>9.1f}"
        )
        ratio = figures.naive_seconds_estimated / figures.bulk_seconds
        out(f"\nBulk path: {ratio:,.1f}x faster than the per-row path.")
