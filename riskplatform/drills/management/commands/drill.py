import platform
import sys
import time
import traceback
from datetime import UTC, datetime

import psutil
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from riskplatform.drills.sandbox import inside_drill, run_in_drill_sandbox

FAULT_NAMES = ("kill", "pause", "postgres", "redis", "beats", "api")


class Command(BaseCommand):
    help = (
        "Fault drill: population runs with real worker (w1, w2), beat and web processes "
        "through real faults, in a throwaway PostgreSQL and Redis of its own; prints, per "
        "fault, rows expected and found, duplicates, missing, time to recover and whether the "
        "run row matched the database (docs/operations.md, 'Fault drill')."
    )
    requires_system_checks = []  # its database does not exist until the drill starts it

    def run_from_argv(self, argv: list[str]) -> None:
        if inside_drill():
            return super().run_from_argv(argv)
        if any(arg in ("-h", "--help") for arg in argv[2:]):
            return super().run_from_argv(argv)
        # Run again as a child inside the sandbox, whose environment its settings then read.
        sys.exit(run_in_drill_sandbox([sys.executable, str(settings.BASE_DIR / "manage.py"),
                                       *argv[1:]]))  # fmt: skip

    def add_arguments(self, parser) -> None:
        parser.add_argument("--patients", type=int, default=20000)
        parser.add_argument("--chunk-size", type=int, default=1000)
        parser.add_argument(
            "--faults", default=",".join(FAULT_NAMES),
            help=f"comma-separated, in this order: {','.join(FAULT_NAMES)}",
        )  # fmt: skip
        parser.add_argument("--outage", type=int, default=30,
                            help="seconds PostgreSQL stays down (postgres fault)")  # fmt: skip
        parser.add_argument("--beats-seconds", type=int, default=60,
                            help="how long two beats run at once (beats fault)")  # fmt: skip

    def handle(self, *args, **options) -> None:
        from riskplatform.drills.drill import RESULT_HEADER, Drill, settings_lines, table_lines
        from riskplatform.drills.faults import FAULTS, TITLES

        faults = [name.strip() for name in options["faults"].split(",") if name.strip()]
        unknown = sorted(set(faults) - set(FAULTS))
        if unknown or not faults:
            raise CommandError(f"unknown faults {unknown}; choose from {','.join(FAULT_NAMES)}")
        say = self._say
        started = time.monotonic()
        patients, chunk_size = options["patients"], options["chunk_size"]
        say(f"fault drill {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {patients:,} patients, "
            f"chunks of {chunk_size:,}, faults {','.join(faults)}")  # fmt: skip
        say(f"machine: {psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.1f} "
            f"GiB, {platform.platform()}; separate processes (w1, w2, beat, web), no "
            "network namespaces")  # fmt: skip
        say("")
        say("recovery settings (default: riskplatform/settings.py; the drill's workers run "
            "with shorter ones, so that it takes minutes):")  # fmt: skip
        for line in settings_lines():
            say(f"  {line}")
        say("")
        drill = Drill(patients=patients, chunk_size=chunk_size, outage=options["outage"],
                      beats_seconds=options["beats_seconds"], say=say)  # fmt: skip
        results = []
        with drill.servers():
            drill.prepare()
            for name in faults:
                fault_started = time.monotonic()
                try:
                    result = FAULTS[name](drill)
                except Exception as exc:  # one fault's error must not hide the others' rows
                    say(traceback.format_exc())
                    from riskplatform.drills.drill import FaultResult

                    result = FaultResult(TITLES[name], 0, 0, 0, 0, None, None, False,
                                         f"error: {exc}")  # fmt: skip
                results.append(result)
                say(f"{name}: {'pass' if result.passed else 'FAIL'} in "
                    f"{time.monotonic() - fault_started:.0f} s: {result.note}")  # fmt: skip
        say("")
        for line in table_lines([RESULT_HEADER, *(r.cells() for r in results)]):
            say(line)
        say("")
        failed = [r.fault for r in results if not r.passed]
        summary = f"{len(results) - len(failed)} of {len(results)} faults passed in "
        summary += f"{time.monotonic() - started:.0f} s"
        say(summary + (f"; FAILED: {', '.join(failed)}" if failed else ""))
        if failed:
            sys.stdout.flush()
            sys.exit(1)

    def _say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()
