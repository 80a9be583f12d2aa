"""gunicorn settings of the production stack (scripts/prod-stack.sh passes --bind).

gthread workers: each of AUTHFLIGHT_GUNICORN_WORKERS processes runs AUTHFLIGHT_GUNICORN_THREADS
request threads, so a refresh held 30 s by a "hang" fault, or a 120 s ping, occupies one thread
of 64 and bursts queue briefly instead of starving. Idle keep-alive connections from nginx sit in
the worker's poller, not in a thread. The keep-alive timeout is longer than nginx's upstream
keepalive_timeout (60 s), so nginx never reuses a connection gunicorn is closing.
"""

import os

wsgi_app = "authflight_server.prod_wsgi:application"
worker_class = "gthread"
workers = int(os.environ.get("AUTHFLIGHT_GUNICORN_WORKERS", "4"))
threads = int(os.environ.get("AUTHFLIGHT_GUNICORN_THREADS", "16"))
worker_connections = 2000  # open connections per worker (gthread), idle keep-alive ones included
backlog = 2048
keepalive = 75
timeout = 300  # gthread: the worker's heartbeat, not a per-request limit; still > the longest delay
graceful_timeout = 5
preload_app = True  # import Django once in the master, then fork: faster start
accesslog = None
errorlog = "-"
loglevel = os.environ.get("AUTHFLIGHT_GUNICORN_LOGLEVEL", "info")
