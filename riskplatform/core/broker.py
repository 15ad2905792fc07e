"""A workaround for kombu's Redis transport losing a worker on a broker restart.

kombu 5.7.0 (the latest release) closes a Redis channel by first reading the reply of a BRPOP
still in flight (``kombu/transport/redis.py``, ``Channel.close``, added by celery/kombu#1733).
It only expects ``Empty`` there. When the broker has just gone away the read raises a
connection error instead, and the close stops before the channel is marked closed and its
unacknowledged messages are handed back. The worker's consumer then drops the transport
(``Connection.collect`` clears ``transport.client``) and closes the connection again; the second
close now restores the unacked message through a transport that no longer knows its broker and
raises ``AttributeError: 'NoneType' object has no attribute 'hostname'``. That is not a
connection error, so Celery treats it as "Unrecoverable error" and the worker stops.

It takes a task in progress (acks_late: its message is unacked) while the consumer waits on
BRPOP for more, i.e. a worker with concurrency 2 or more that is not fully busy. docs/operations.md,
"Broker restarts", has the evidence; tests/core/test_broker_restart.py fails without this.

The patch makes a connection error while reading that reply mean what ``Empty`` means: the
reply is gone with the connection, carry on closing. Remove it once a kombu release no longer
raises out of ``Channel.close`` (the test above says so).
"""

import functools
from queue import Empty

from kombu.transport import redis as kombu_redis

_MARK = "_riskplatform_lost_brpop_patch"


def _close_after_lost_brpop(close):
    @functools.wraps(close)
    def wrapper(self):
        if self._in_poll:
            try:
                self._brpop_read()  # resets _in_poll whatever happens
            except Empty:
                pass
            except self.connection_errors:
                pass  # the reply died with the connection: nothing left to read
        return close(self)

    setattr(wrapper, _MARK, True)
    return wrapper


def redis_channel_close_patch() -> None:
    """Install the workaround once (every process that loads the Celery app calls this)."""
    if not getattr(kombu_redis.Channel.close, _MARK, False):
        kombu_redis.Channel.close = _close_after_lost_brpop(kombu_redis.Channel.close)
