"""Local TCP helpers for the launchers and benchmarks."""

import socket
import time


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_wait(host: str, port: int, *, timeout: float = 60.0, alive=lambda: True) -> bool:
    """Wait until `host:port` accepts connections (True), `timeout` passes or `alive()`
    turns false (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        try:
            socket.create_connection((host, port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False
