"""Gunicorn settings shared by the Procfile and ``feedsvc serve``.

Honours ``PORT`` and ``WEB_CONCURRENCY`` as platforms that read Procfiles expect. Each
worker serves from memory with a few threads; exactly one of them becomes the builder
(see :mod:`feedsvc.service`), whatever the number of workers.
"""

from __future__ import annotations

import os

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
