"""Gunicorn settings shared by the Procfile and ``feedsvc serve``.

Honours ``PORT`` and ``WEB_CONCURRENCY`` as platforms that read Procfiles expect. Each
worker serves from memory with a few threads; exactly one of them becomes the builder
(see :mod:`feedsvc.service`), whatever the number of workers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Any

#: Set for the workers when a dedicated builder process runs beside them.
DEDICATED_BUILDER_ENV = "_FEEDSVC_DEDICATED_BUILDER"
#: How much lower the builder's CPU priority is than the workers' (see ``nice(1)``).
BUILDER_NICENESS = 10

#: Address to listen on: all interfaces on $PORT (8000 when unset).
bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
#: Worker processes: $WEB_CONCURRENCY, else one per core.
workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
#: Threaded workers keep slow clients from blocking other readers.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS") or 4)
#: One log line per request, to standard output.
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms "%(a)s"'
#: Responses come from memory; a worker that is silent this long is stuck.
timeout = 60
graceful_timeout = 10
keepalive = 5
#: No control socket: several servers on one host must not share ~/.gunicorn/gunicorn.ctl.
control_socket_disable = True


def when_ready(server: Any) -> None:
    """Start the builder as its own process, so that rescans never compete with serving
    for a worker's interpreter. Workers still stand by to take over if it dies."""
    os.environ[DEDICATED_BUILDER_ENV] = "1"  # read by the workers forked after this
    # At a lower CPU priority: on a busy host a rescan may take a little longer, but the
    # requests it competes with do not wait for it (its parsing pool inherits this).
    server.feedsvc_builder = subprocess.Popen(
        ["nice", "-n", str(BUILDER_NICENESS), sys.executable, "-m", "feedsvc", "builder"]
        if shutil.which("nice")
        else [sys.executable, "-m", "feedsvc", "builder"]
    )


def on_exit(server: Any) -> None:
    """Stop the builder process with the server."""
    process = getattr(server, "feedsvc_builder", None)
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
