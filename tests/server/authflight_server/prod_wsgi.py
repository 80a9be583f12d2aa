"""WSGI entry point for gunicorn (scripts/prod-stack.sh): Django's app plus the "drop" fault.

A view asks for the connection to be dropped by setting views.DROP_CONNECTION_KEY in the environ
(the dev server does it in server.py). Here the response is discarded, and then:

* behind nginx (the request carries `X-Authflight-Via: nginx`, set by the stack's nginx): answer
  status 599, which that nginx turns into `return 444`: it closes the browser's connection (HTTP/1.1)
  or resets the stream (HTTP/2) without a response. An upstream that merely closed would make
  nginx answer 502 instead, which a client sees as an HTTP error, not a network failure.
* direct (a test tool on the internal http port): shut the TCP socket down without a byte sent,
  as the dev server does; gunicorn then ignores the EPIPE we raise.
"""

import errno
import socket

from .wsgi import application as django_application
from .views import DROP_CONNECTION_KEY  # noqa: E402 (needs Django set up by .wsgi)

DROP_STATUS = "599 Dropped By Fault Injection"


def drop_aware(app):
    def wrapped(environ, start_response):
        def deferred_start_response(status, headers, exc_info=None):
            if environ.get(DROP_CONNECTION_KEY):
                return lambda data: None  # this response is never sent
            return start_response(status, headers, exc_info)

        result = app(environ, deferred_start_response)
        if not environ.get(DROP_CONNECTION_KEY):
            return result
        if hasattr(result, "close"):
            result.close()
        if environ.get("HTTP_X_AUTHFLIGHT_VIA") == "nginx":
            start_response(DROP_STATUS, [("Content-Length", "0")])
            return [b""]
        sock = environ.get("gunicorn.socket")
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        raise OSError(errno.EPIPE, "connection dropped by fault injection")

    return wrapped


application = drop_aware(django_application)
