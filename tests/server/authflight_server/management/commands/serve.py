import os
import signal
import sys

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the authflight test backend (threaded, TCP_NODELAY, keep-alive)."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.PORT)

    def handle(self, *args, host, port, **options):
        from django.core.wsgi import get_wsgi_application

        from authflight_server.server import make_server

        if port != settings.PORT:
            self.stderr.write(
                f"warning: --port {port} differs from AUTHFLIGHT_PORT {settings.PORT}; "
                "the server's own CSRF origin uses AUTHFLIGHT_PORT"
            )
        app = get_wsgi_application()
        server = make_server(host, port, app)

        def stop(signum, frame):
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)  # also when started with SIGINT ignored (background &)
        self.stdout.write(
            f"authflight test server on http://{host}:{port}/ pid={os.getpid()} "
            f"test_endpoints={'on' if settings.AUTHFLIGHT_TEST_ENDPOINTS else 'off'} "
            f"csrf={'on' if settings.AUTHFLIGHT_CSRF else 'off'} "
            f"access={int(settings.SIMPLE_JWT['ACCESS_TOKEN_LIFETIME'].total_seconds())}s "
            f"refresh={int(settings.SIMPLE_JWT['REFRESH_TOKEN_LIFETIME'].total_seconds())}s "
            f"access_cookie_slack={settings.AUTHFLIGHT_ACCESS_COOKIE_SLACK_SECONDS}s "
            f"refresh_authenticates={'on' if settings.AUTHFLIGHT_REFRESH_AUTHENTICATES else 'off'} "
            f"db={settings.DATABASES['default']['NAME']}"
        )
        sys.stdout.flush()
        try:
            server.serve_forever(poll_interval=0.25)
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
            self.stdout.write("authflight test server stopped")
