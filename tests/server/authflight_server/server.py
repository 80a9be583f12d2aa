"""Threaded HTTP/1.1 WSGI server for the test backend.

Django's own development server classes (ThreadedWSGIServer + WSGIRequestHandler: one thread per
connection, HTTP/1.1 keep-alive whenever the response has a Content-Length) with three changes:

* TCP_NODELAY on every accepted socket. Without it a kept-alive connection stalls ~40 ms per
  response (Nagle's algorithm against the client's delayed ACK), which hides or creates races.
* A listen backlog of 1024 instead of 10, so bursts of 100+ concurrent connections are accepted.
* The "drop" refresh fault: when a view sets views.DROP_CONNECTION_KEY in the WSGI environ, the
  response is discarded and the TCP connection is shut down without a single byte being sent.
"""

import socket

from django.core.servers.basehttp import ServerHandler, ThreadedWSGIServer, WSGIRequestHandler

from .views import DROP_CONNECTION_KEY


class _Dropped(ConnectionAbortedError):
    """Raised after the application returned, so wsgiref's handler writes nothing."""


def drop_aware(app):
    def wrapped(environ, start_response):
        result = app(environ, start_response)
        if environ.get(DROP_CONNECTION_KEY):
            if hasattr(result, "close"):
                result.close()
            raise _Dropped()
        return result

    return wrapped


class RequestHandler(WSGIRequestHandler):
    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle_one_request(self):
        # Django's WSGIRequestHandler.handle_one_request, plus the drop check.
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.requestline = ""
            self.request_version = ""
            self.command = ""
            self.send_error(414)
            return
        if not self.parse_request():
            return
        handler = ServerHandler(self.rfile, self.wfile, self.get_stderr(), self.get_environ())
        handler.request_handler = self
        # BaseHandler.run() swallows ConnectionAbortedError (our _Dropped) without writing.
        handler.run(self.server.get_app())
        if getattr(handler, "environ", None) and handler.environ.get(DROP_CONNECTION_KEY):
            self.close_connection = True
            self.log_message('"%s" %s %s', self.requestline, "000", "-(dropped: fault injected)")
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Server(ThreadedWSGIServer):
    request_queue_size = 1024
    daemon_threads = True


def make_server(host, port, app):
    server = Server((host, port), RequestHandler, ipv6=":" in host)
    server.set_app(drop_aware(app))
    return server
