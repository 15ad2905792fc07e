"""The development launcher (riskplatform/core/embedded.py, behind bin/run, bin/test and
bin/manage): it says what it filled in, marks it for platform_status, refuses production, and
passes a SIGINT sent to it (not one from the terminal, which the child has already) on."""

import fcntl
import os
import pty
import signal
import subprocess
import sys
import termios

from django.conf import settings

LAUNCHER = [sys.executable, "-m", "riskplatform.core.embedded"]
# Reports what it was given; with --wait-sigint, how many SIGINTs reach it (a second within
# a second would be a duplicate).
CHILD = """
import os, signal, sys
if "--wait-sigint" in sys.argv:
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    print("ready", flush=True)
    signal.sigwaitinfo({signal.SIGINT})
    extra = signal.sigtimedwait({signal.SIGINT}, 1.0)
    print("SIGINT", 1 + (extra is not None), flush=True)
else:
    print(os.environ.get("RISKPLATFORM_EMBEDDED"), len(os.environ["SECRET_KEY"]), flush=True)
"""


def _launch(tmp_path, *args, env=None, **kwargs):
    return subprocess.run(  # noqa: S603
        [*LAUNCHER, "--data-dir", str(tmp_path), *args, "--", sys.executable, "-c", CHILD],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60, **kwargs,
    )  # fmt: skip


def _given(**changes: str | None) -> dict[str, str]:
    """This environment without the launcher's marker, with `changes` (None: unset)."""
    env = {k: v for k, v in os.environ.items() if k != "RISKPLATFORM_EMBEDDED"}
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def test_it_refuses_to_run_in_production(tmp_path):
    done = _launch(tmp_path, env=_given(RISKPLATFORM_ENV="production"))
    assert done.returncode == 2
    assert "RISKPLATFORM_ENV=production: refusing to start" in done.stderr
    assert done.stdout == "" and not (tmp_path / "postgres").exists()


def test_it_says_what_it_started_and_marks_it(tmp_path):
    env = _given(REDIS_URL=None, SECRET_KEY=None)
    done = _launch(tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["REDIS_URL,SECRET_KEY", "67"]
    lines = done.stderr.splitlines()
    assert f"[embedded] SECRET_KEY is not set: generated a key into {tmp_path}/secret_key" in lines
    assert any(line.startswith("[embedded] REDIS_URL is not set: started embedded Redis")
               for line in lines)  # fmt: skip
    # bin/manage's --quiet still says it, on one line; the key is the one kept before.
    quiet = _launch(tmp_path, "--quiet", env=env)
    assert quiet.stderr.splitlines() == [
        f"[embedded] REDIS_URL, SECRET_KEY not set: using development servers/key under "
        f"{tmp_path} (not for production)"
    ]


# Run under the launcher: what a child process of the platform can do with the Redis it got.
REDIS_CHILD = """
import os, redis
url = os.environ["REDIS_URL"]
print(redis.Redis.from_url(url).ping())
anonymous = redis.Redis.from_url("redis://" + url.split("@", 1)[1])
try:
    anonymous.set("x", "1")
    print("anonymous write accepted")
except redis.AuthenticationError:
    print("anonymous refused")
"""


def test_the_embedded_redis_requires_its_generated_password(tmp_path):
    env = _given(REDIS_URL=None)
    command = [*LAUNCHER, "--data-dir", str(tmp_path), "--", sys.executable, "-c", REDIS_CHILD]
    runs = [
        subprocess.run(  # noqa: S603
            command, cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60
        )
        for _ in range(2)
    ]
    password_file = tmp_path / "redis_password"
    password = password_file.read_text()
    assert len(password) >= 32
    assert password_file.stat().st_mode & 0o777 == 0o600
    for done in runs:  # the second start takes the same kept password
        assert done.returncode == 0, done.stderr
        assert done.stdout.split("\n")[:2] == ["True", "anonymous refused"]
        assert password not in done.stderr  # the notice names the file, not the password
        assert f"password in {password_file}" in done.stderr


def test_with_everything_given_it_starts_nothing_and_marks_nothing(tmp_path):
    done = _launch(tmp_path, "--quiet", env=_given())
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.split() == ["None", str(len(os.environ["SECRET_KEY"]))]


def _start_waiting_child(tmp_path, **kwargs) -> subprocess.Popen:
    process = subprocess.Popen(  # noqa: S603
        [*LAUNCHER, "--data-dir", str(tmp_path), "--quiet", "--", sys.executable, "-c", CHILD,
         "--wait-sigint"],
        cwd=settings.BASE_DIR, env=_given(), stdout=subprocess.PIPE, text=True, **kwargs,
    )  # fmt: skip
    assert process.stdout.readline() == "ready\n"
    return process


def test_a_sigint_sent_to_the_launcher_alone_reaches_the_child_once(tmp_path):
    process = _start_waiting_child(tmp_path, start_new_session=True)
    os.kill(process.pid, signal.SIGINT)  # `kill -INT <pid of bin/run>`
    output, _ = process.communicate(timeout=30)
    assert (process.returncode, output) == (0, "SIGINT 1\n")


def test_ctrl_c_at_a_terminal_reaches_the_child_once(tmp_path):
    master, slave = pty.openpty()

    def own_terminal() -> None:  # a session whose controlling terminal is the pty
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    try:
        process = _start_waiting_child(
            tmp_path, stdin=slave, start_new_session=True, preexec_fn=own_terminal
        )
        os.write(master, b"\x03")  # the tty driver sends SIGINT to the foreground group
        output, _ = process.communicate(timeout=30)
    finally:
        os.close(master)
        os.close(slave)
    assert (process.returncode, output) == (0, "SIGINT 1\n")
