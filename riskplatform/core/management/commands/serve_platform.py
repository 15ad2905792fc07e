"""Start the whole platform: web (gunicorn), a Celery worker and Celery beat.

Migrates, collects static files and makes sure an admin login exists first. Ctrl-C (or
SIGTERM) stops all three; if one of them dies, the others are stopped too.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from riskplatform.core.net import port_wait
from riskplatform.core.services import admin_user_ensure
from riskplatform.demo import demo_bootstrap, demo_is_loaded

STOP_GRACE_SECONDS = 15


def _stop_on_sigterm(signum, frame) -> None:
    # SIGTERM (a service manager stopping us) takes the same path as Ctrl-C.
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument("--worker-concurrency", type=int, default=2)
        parser.add_argument(
            "--no-demo",
            action="store_true",
            default=os.environ.get("RISKPLATFORM_DEMO", "1") == "0",
            help="do not load the demo cohort into an empty database",
        )

    def handle(
        self, *args, host: str, port: int, web_workers: int, worker_concurrency: int, no_demo, **_
    ):
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        data_dir = Path(os.environ.get("RISKPLATFORM_DATA_DIR", settings.BASE_DIR / ".data"))
        data_dir.mkdir(parents=True, exist_ok=True)
        if not no_demo and not demo_is_loaded():
            self.stdout.write("First start: loading the demo cohort (about half a minute)…")
            demo_bootstrap(out_dir=data_dir / "demo", changed_by="system:first-start",
                           progress=self.stdout.write)  # fmt: skip
        username, password = admin_user_ensure(
            username=os.environ.get("ADMIN_USERNAME", "admin"),
            credentials_path=data_dir / "admin_password",
        )

        python = sys.executable
        commands = {
            "web": [
                python, "-m", "gunicorn", "riskplatform.wsgi",
                "--bind", f"{host}:{port}",
                "--workers", str(web_workers),
                "--access-logfile", "-",
            ],
            "worker": [
                python, "-m", "celery", "-A", "riskplatform", "worker",
                "--loglevel", "INFO", "--concurrency", str(worker_concurrency),
            ],
            "beat": [python, "-m", "celery", "-A", "riskplatform", "beat", "--loglevel", "INFO"],
        }  # fmt: skip
        # One OpenMP thread per web process: with several workers on few cores, OpenMP's
        # spinning threads starve each other (measured: 5x slower under 8 concurrent clients).
        web_env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        children = {
            name: subprocess.Popen(cmd, env=web_env if name == "web" else None)  # noqa: S603
            for name, cmd in commands.items()
        }
        # Print the URL only once the web server accepts connections.
        port_wait(host, port, alive=lambda: children["web"].poll() is None)

        url = f"http://{host}:{port}/workspace/"
        self.stdout.write(self.style.SUCCESS(f"\nRisk platform running at {url}"))
        self.stdout.write(f"Admin site: http://{host}:{port}/admin/")
        if password:
            self.stdout.write(f"Admin login: {username} / {password}")
        else:
            self.stdout.write(f"Admin login: {username} (password set earlier)")
        self.stdout.write("Press Ctrl-C to stop.\n")

        signal.signal(signal.SIGTERM, _stop_on_sigterm)
        exit_code = 0
        try:
            while True:
                for name, child in children.items():
                    if child.poll() is not None:
                        self.stderr.write(
                            f"{name} stopped (exit code {child.returncode}); stopping the rest."
                        )
                        exit_code = child.returncode or 1
                        raise KeyboardInterrupt
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self._stop(children)
        if exit_code:
            raise SystemExit(exit_code)

    def _stop(self, children: dict[str, subprocess.Popen]) -> None:
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for name, child in children.items():
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop in time; killing it.")
                child.kill()
                child.wait()
        self.stdout.write("Stopped web, worker and beat.")
