"""Start the whole platform: web (gunicorn), a Celery worker and Celery beat.

Migrates, collects static files and makes sure an admin login exists first. A child that dies
is restarted (riskplatform/core/supervisor.py); Ctrl-C or SIGTERM stops all three.
"""

import os
import signal
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from riskplatform.core.net import port_wait
from riskplatform.core.services import admin_user_ensure
from riskplatform.core.supervisor import Supervisor, platform_commands, web_environment
from riskplatform.demo import demo_bootstrap, demo_is_loaded


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
        data_dir = settings.DATA_DIR
        data_dir.mkdir(parents=True, exist_ok=True)
        if not no_demo and not demo_is_loaded():
            self.stdout.write("First start: loading the demo cohort (about half a minute)…")
            demo_bootstrap(out_dir=data_dir / "demo", changed_by="system:first-start",
                           progress=self.stdout.write)  # fmt: skip
        username = os.environ.get("ADMIN_USERNAME", "admin")
        credentials = data_dir / "admin_password"
        password = admin_user_ensure(username=username, credentials_path=credentials)

        supervisor = Supervisor(
            platform_commands(host=host, port=port, web_workers=web_workers,
                              worker_concurrency=worker_concurrency),
            envs={"web": web_environment()},
            say=lambda line: self.stderr.write(line) or self.stderr.flush(),
        )  # fmt: skip
        # Ctrl-C (the terminal's whole group), SIGTERM (a service manager) and SIGINT from the
        # launcher all take one path; a second signal while stopping changes nothing.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, supervisor.request_stop)
        supervisor.start()
        # Print the URL only once the web server accepts connections.
        alive = lambda: supervisor.alive("web") and not supervisor.stopping.is_set()  # noqa: E731
        if port_wait(host, port, alive=alive):
            login = admin_login_line(username, password, credentials)
            # One write, so that the children's log lines cannot land inside the block.
            self.stdout.write("\n".join([
                self.style.SUCCESS(f"\nRisk platform running at http://{host}:{port}/workspace/"),
                f"Admin site: http://{host}:{port}/admin/",
                login,
                "Press Ctrl-C to stop.\n",
            ]))  # fmt: skip
            self.stdout.flush()
        exit_code = supervisor.supervise()
        self.stdout.write("Stopped web, worker and beat.")
        if exit_code:
            raise SystemExit(exit_code)


def admin_login_line(username: str, password: str | None, credentials: Path) -> str:
    """The password once, on the start that created it; later starts say where it is."""
    if password:
        return f"Admin login: {username} / {password} (created now; also kept in {credentials})"
    if credentials.exists():
        return f"Admin login: {username} (password in {credentials})"
    return f"Admin login: {username} (password set earlier)"
