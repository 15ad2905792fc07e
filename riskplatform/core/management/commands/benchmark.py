import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from riskplatform.benchmarks.database import throwaway_database
from riskplatform.benchmarks.machine import machine_description
from riskplatform.benchmarks.pipeline import pipeline_benchmark
from riskplatform.benchmarks.sandbox import SandboxUnavailable, inside_sandbox, run_in_sandbox


class Command(BaseCommand):
    help = (
        "Measure the platform and print figures (in a sandbox: a throwaway database, its own "
        "Redis database, temporary folder and process group; riskplatform/benchmarks/sandbox.py)."
    )

    def run_from_argv(self, argv: list[str]) -> None:
        if inside_sandbox():
            return super().run_from_argv(argv)
        # Run again as a child inside the sandbox, whose environment its settings then read.
        try:
            code = run_in_sandbox([sys.executable, str(settings.BASE_DIR / "manage.py"),
                                   *argv[1:]])  # fmt: skip
        except SandboxUnavailable as exc:
            sys.stderr.write(f"benchmark: {exc}\n")
            code = 2
        sys.exit(code)

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
        realtime = benchmarks.add_parser("realtime", help="new patients through the API")
        realtime.add_argument("--submissions", type=int, default=1000)
        realtime.add_argument("--clients", type=int, default=8)
        realtime.add_argument("--web-workers", type=int, default=4)
        pages = benchmarks.add_parser("pages", help="render time of the workspace pages")
        pages.add_argument("--patients", type=int, default=3000)
        pages.add_argument("--repeats", type=int, default=10)
        outcomes = benchmarks.add_parser("outcomes", help="a past quarter judged and reported")
        outcomes.add_argument("--patients", type=int, default=3000)
        outcomes.add_argument("--repeats", type=int, default=5)
        chain = benchmarks.add_parser("audit-chain", help="the logs' hash chains: their cost")
        chain.add_argument("--clients", type=int, default=8)
        chain.add_argument("--each", type=int, default=250)
        chain.add_argument("--rounds", type=int, default=2)

    def handle(self, *args, benchmark: str, **options) -> None:
        if not inside_sandbox():
            raise CommandError("run benchmarks as `manage.py benchmark …`, which sandboxes them")
        with throwaway_database():
            machine = machine_description()
            if benchmark == "pipeline":
                self._pipeline(machine, **options)
            elif benchmark == "realtime":
                self._realtime(machine, **options)
            elif benchmark == "pages":
                self._pages(machine, **options)
            elif benchmark == "outcomes":
                self._outcomes(machine, **options)
            elif benchmark == "audit-chain":
                self._audit_chain(machine, **options)

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

    def _realtime(self, machine: str, *, submissions, clients, web_workers, **_) -> None:
        from riskplatform.benchmarks.realtime import realtime_benchmark

        figures = realtime_benchmark(
            submissions=submissions, clients=clients, web_workers=web_workers,
            say=self.stderr.write,
        )  # fmt: skip
        out = self.stdout.write
        out(f"\nNew patients through POST /api/patients/ (gunicorn, {web_workers} workers)")
        out(f"Machine: {machine}\n")
        out(f"Scoring one patient, three windows, cached model: "
            f"{figures.single_row_scoring_ms:.2f} ms (median of 200)\n")  # fmt: skip
        out("Submission to three stored predictions and projections (HTTP round trip):")
        out(f"{'run':<26} {'n':>6} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
        for run in figures.runs:
            out(
                f"{run.label:<26} {len(run.seconds):>6} {run.errors:>6} "
                f"{run.percentile(50):>8.1f} {run.percentile(95):>8.1f} "
                f"{run.percentile(99):>8.1f}"
            )
        after = figures.views_current_after
        shown = f"{after:.1f} s" if after is not None else "not within 60 s"
        out(f"\nViews show every patient of the {figures.burst_patients:,}-patient burst "
            f"{shown} after its last submission (coalesced refresh).")  # fmt: skip

    def _pages(self, machine: str, *, patients, repeats, **_) -> None:
        from riskplatform.benchmarks.pages import pages_benchmark

        timings = pages_benchmark(patients=patients, repeats=repeats, say=self.stderr.write)
        out = self.stdout.write
        out(f"\nWorkspace pages at {patients:,} patients (in-process render, median of {repeats})")
        out(f"Machine: {machine}\n")
        out(f"{'page':<62} {'median ms':>9} {'worst ms':>9} {'queries':>8}")
        for t in timings:
            out(f"{t.page:<62} {t.median_ms:>9.1f} {t.worst_ms:>9.1f} {t.queries:>8}")

    def _outcomes(self, machine: str, *, patients, repeats, **_) -> None:
        from riskplatform.benchmarks.outcomes import outcomes_benchmark

        steps = outcomes_benchmark(patients=patients, repeats=repeats, say=self.stderr.write)
        out = self.stdout.write
        out(f"\nA simulated quarter at {patients:,} patients (three windows each)")
        out(f"Machine: {machine}\n")
        out(f"{'step':<58} {'rows':>10} {'seconds':>9}")
        for step in steps:
            out(f"{step.name:<58} {step.rows:>10,} {step.seconds:>9.3f}")

    def _audit_chain(self, machine: str, *, clients, each, rounds, **_) -> None:
        from riskplatform.benchmarks.audit_chain import audit_chain_benchmark

        bursts = audit_chain_benchmark(clients=clients, each=each, rounds=rounds,
                                       say=self.stderr.write)  # fmt: skip
        out = self.stdout.write
        out(f"\nLog writes from {clients} concurrent clients, hash chain on and off (in turns)")
        out(f"Machine: {machine}\n")
        out(f"{'burst':<38} {'chain':>5} {'n':>6} {'per s':>7} {'p50 ms':>7} {'p95 ms':>7} "
            f"{'p99 ms':>7}")  # fmt: skip
        for b in bursts:
            out(f"{b.label:<38} {'on' if b.chained else 'off':>5} {len(b.seconds):>6} "
                f"{b.rate:>7.0f} {b.percentile(50):>7.2f} {b.percentile(95):>7.2f} "
                f"{b.percentile(99):>7.2f}")  # fmt: skip
