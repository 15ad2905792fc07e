"""The platform's web process (gunicorn, exactly as serve_platform starts it) for fault tests,
and a small JSON client for it."""

import contextlib
import http.client
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

from riskplatform.core.net import free_port, port_wait
from riskplatform.core.supervisor import platform_commands, web_environment


@contextlib.contextmanager
def web_server(*, database_url: str, folder: Path, workers: int = 2,
               env: dict[str, str] | None = None) -> Iterator[int]:  # fmt: skip
    """Run gunicorn against `database_url` (and the suite's Redis) on a free port; yields
    the port. Its output goes to folder/web.log (shown when it fails to start)."""
    port = free_port()
    environment = web_environment({
        **os.environ, "DATABASE_URL": database_url, "HTTPS": "0", "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1", "STATIC_ROOT": str(folder / "static"), **(env or {}),
    })  # fmt: skip
    log_path = folder / "web.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603
            platform_commands(host="127.0.0.1", port=port, web_workers=workers)["web"],
            cwd=settings.BASE_DIR, env=environment, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        if not port_wait("127.0.0.1", port, alive=lambda: process.poll() is None):
            raise RuntimeError(f"the web server did not start:\n{log_path.read_text()}")
        yield port
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def api_post(port: int, path: str, body: dict, *, token: str, key: str | None = None):
    """POST a JSON body; returns (status, headers, parsed JSON answer)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", path, body=json.dumps(body), headers=headers)
        response = conn.getresponse()
        raw = response.read()
        try:
            answer = json.loads(raw)
        except ValueError as exc:
            raise AssertionError(f"not JSON ({response.status}): {raw[:300]!r}") from exc
        return response.status, dict(response.getheaders()), answer
    finally:
        conn.close()
