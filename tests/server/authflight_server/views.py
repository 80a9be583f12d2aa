"""API views of the authflight test backend (all JSON)."""

import base64
import time

from django.conf import settings
from django.http import JsonResponse
from django.utils.http import http_date
from django.middleware.csrf import get_token
from django.views.decorators.csrf import csrf_exempt, ensure_csrf_cookie
from dj_rest_auth.app_settings import api_settings as rest_auth_settings
from dj_rest_auth.jwt_auth import get_refresh_view
from dj_rest_auth.views import LoginView as _StockLoginView
from rest_framework import status
from rest_framework.exceptions import APIException, AuthenticationFailed, NotAuthenticated, ParseError
from rest_framework.parsers import BaseParser, FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from . import state
from .auth import AuthflightJWTCookieAuthentication
from .tokens import StampedCookieTokenRefreshSerializer

# Set in request.META (= the WSGI environ) to make the server close the TCP connection without
# sending the response (see server.py).
DROP_CONNECTION_KEY = "authflight.drop_connection"
MAX_DELAY_MS = 120_000


def health(request):
    return JsonResponse({"ok": True})


@ensure_csrf_cookie
def csrf(request):
    """Sets the `csrftoken` cookie (readable by JS) and returns its value too."""
    return JsonResponse({"csrftoken": get_token(request)})


@csrf_exempt
def not_found(request, exception=None):
    return JsonResponse({"detail": "Not found."}, status=404)


def csrf_failure(request, reason=""):
    return JsonResponse({"detail": f"CSRF Failed: {reason}"}, status=403)


def server_error(request):
    return JsonResponse({"detail": "Server error."}, status=500)


def _delay_ms(value):
    try:
        return max(0, min(int(value), MAX_DELAY_MS))
    except (TypeError, ValueError):
        raise ParseError(f"invalid delay: {value!r}")


class ProtectedView(APIView):
    """Authenticated by the cookie JWT; counts 2xx / 401 answers in the test stats."""

    permission_classes = [IsAuthenticated]

    def initial(self, request, *args, **kwargs):
        # ?auth_delay_ms=N waits BEFORE authenticating, so a 401 for a token sent now arrives
        # late (tests of "401 for a request sent before the refresh finished").
        if "auth_delay_ms" in request.GET:
            time.sleep(_delay_ms(request.GET["auth_delay_ms"]) / 1000)
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if 200 <= response.status_code < 300:
            state.bump("protected_ok")
        elif response.status_code == 401:
            state.bump("protected_401")
        return response


class MeView(ProtectedView):
    def get(self, request):
        return Response({"username": request.user.get_username()})


class PingView(ProtectedView):
    def get(self, request):
        query = request.query_params.dict()
        if "delay_ms" in query:
            time.sleep(_delay_ms(query["delay_ms"]) / 1000)
        status = int(query["status"]) if query.get("status", "").isdigit() else 200
        return Response({"ok": status < 400, "q": query}, status=status)


class AnyBodyParser(BaseParser):
    """Accepts any content type (returns the raw bytes)."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read() if stream is not None else b""


class EchoView(ProtectedView):
    """Echoes the raw request body, byte for byte, as base64.

    Any content type is accepted: with AUTHFLIGHT_CSRF=1, dj-rest-auth's CSRF check reads
    `request.POST` on the DRF request, which parses the body and would answer 415 for a type no
    parser of the view accepts (e.g. a Blob sent as application/octet-stream or text/plain).
    """

    parser_classes = [FormParser, MultiPartParser, AnyBodyParser]

    def initialize_request(self, request, *args, **kwargs):
        # Read the raw body before anything (e.g. a CSRF check reading request.POST on a
        # multipart body) consumes the stream.
        request.body  # noqa: B018 - caches the body on the Django request
        return super().initialize_request(request, *args, **kwargs)

    def _echo(self, request):
        body = request._request.body
        return Response(
            {
                "method": request.method,
                "content_type": request.META.get("CONTENT_TYPE", ""),
                "length": len(body),
                "body_b64": base64.b64encode(body).decode("ascii"),
                "csrf_header": request.META.get("HTTP_X_CSRFTOKEN"),
            }
        )

    post = put = patch = delete = _echo


class ItemsView(ProtectedView):
    def get(self, request):
        items = state.list_items()
        return Response({"items": items, "count": len(items)})

    def post(self, request):
        data = request.data
        name = data.get("name") if hasattr(data, "get") else None
        if not isinstance(name, str) or not name:
            return Response({"name": ["This field is required."]}, status=400)
        return Response(state.add_item(name), status=status.HTTP_201_CREATED)


def apply_access_cookie_slack(response):
    """AUTHFLIGHT_ACCESS_COOKIE_SLACK_SECONDS=N: the access cookie lives N s longer than the token.

    dj-rest-auth sets the access cookie (set_jwt_access_cookie) to expire one token lifetime after
    it is set, while Simple JWT truncates the token's `exp` to the second; so even stock, a browser
    sends an expired access token for up to 1 s after `exp`. With N, the cookie's Max-Age (and
    Expires) are the token lifetime + N seconds: it is sent from N to N + 1 s after `exp`.
    """
    slack = settings.AUTHFLIGHT_ACCESS_COOKIE_SLACK_SECONDS
    morsel = response.cookies.get(rest_auth_settings.JWT_AUTH_COOKIE)
    if not slack or morsel is None or not morsel.value:  # no cookie set, or a deletion
        return response
    from rest_framework_simplejwt.settings import api_settings as jwt_settings

    max_age = int(jwt_settings.ACCESS_TOKEN_LIFETIME.total_seconds()) + slack
    morsel["max-age"] = max_age
    morsel["expires"] = http_date(time.time() + max_age)
    return response


class LoginView(_StockLoginView):
    """dj-rest-auth's LoginView; only the access cookie's lifetime may differ (see above)."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        return apply_access_cookie_slack(response)


_CookieRefreshView = get_refresh_view()


class RefreshView(_CookieRefreshView):
    """dj-rest-auth's cookie refresh view (Simple JWT rotation + blacklist), instrumented.

    Counts calls and outcomes, detects a refresh token presented twice, and applies faults
    injected through /api/test/fault/. Without faults it behaves exactly like the stock view.

    AUTHFLIGHT_REFRESH_AUTHENTICATES=1 gives it the access-cookie authentication the API views
    have (dj-rest-auth's JWTCookieAuthentication, with the expire-access cut-off of auth.py), the
    mistake of many custom cookie views: a refresh that carries an expired, revoked or invalid
    access cookie is then answered 401 before the refresh token is even read (counted as a call,
    a failure and in `refresh_auth_rejected`). A refresh without an access cookie goes through.
    """

    serializer_class = StampedCookieTokenRefreshSerializer
    authentication_classes = (
        [AuthflightJWTCookieAuthentication] if settings.AUTHFLIGHT_REFRESH_AUTHENTICATES else []
    )

    def initial(self, request, *args, **kwargs):
        if request.method != "POST":  # e.g. a GET answered 405: not a refresh call
            return super().initial(request, *args, **kwargs)
        # Counted before DRF authenticates, so a call the authentication rejects is counted too.
        request.authflight_call = state.begin_refresh()
        request.authflight_refresh = True
        request.authflight_presentation = None
        try:
            super().initial(request, *args, **kwargs)
        except Exception as exc:
            if isinstance(exc, (AuthenticationFailed, NotAuthenticated)):
                state.bump("refresh_auth_rejected")
            elif not isinstance(exc, APIException):  # not turned into a response: count it here
                self._abandon(request)
            raise

    def _abandon(self, request):
        request.authflight_refresh = False
        # It may have rotated before it failed: never treat it as a rejection.
        state.end_presentation(request.authflight_presentation, True)
        state.end_refresh(request.authflight_call, False, 500)

    def post(self, request, *args, **kwargs):
        # Faults apply to calls that got past the authentication (if any).
        kind, hang_ms, delay_ms, hang_release = state.take_fault(request.authflight_call)
        if delay_ms and kind in ("500", "drop"):
            time.sleep(delay_ms / 1000)  # a slow server that then fails
        if kind == "500":
            return Response(
                {"detail": "Injected fault: refresh failed.", "code": "injected_fault"},
                status=500,
            )
        if kind == "drop":
            request.META[DROP_CONNECTION_KEY] = True
            return Response({"detail": "dropped"}, status=500)  # never sent
        if kind == "hang":
            hang_release.wait(hang_ms / 1000)
            return Response(
                {"detail": "Injected fault: refresh timed out.", "code": "injected_fault"},
                status=504,
            )
        raw = request.data.get("refresh") if hasattr(request.data, "get") else None
        if not raw:
            raw = request.COOKIES.get("refresh")
        request.authflight_presentation = state.note_presented(raw)
        if delay_ms:
            time.sleep(delay_ms / 1000)
        try:
            response = super().post(request, *args, **kwargs)
        except Exception as exc:
            if not isinstance(exc, APIException):  # not turned into a response: count it here
                self._abandon(request)
            raise
        if kind == "drop_after_rotate":
            request.META[DROP_CONNECTION_KEY] = True  # rotated and blacklisted, answer lost
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        apply_access_cookie_slack(response)
        if getattr(request, "authflight_refresh", False):
            request.authflight_refresh = False
            # Accepted = rotated, whether or not the answer reaches the client (drop_after_rotate).
            state.end_presentation(request.authflight_presentation, response.status_code == 200)
            delivered = not request.META.get(DROP_CONNECTION_KEY)
            state.end_refresh(
                request.authflight_call, delivered and response.status_code == 200, response.status_code
            )
        return response


# ---------------------------------------------------------------- test-only endpoints
class TestView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]


class StatsView(TestView):
    def get(self, request):
        return Response(state.stats())


class ResetView(TestView):
    def post(self, request):
        state.reset()
        response = Response(state.stats())
        if request.query_params.get("logout") == "1":
            # ?logout=1 also drops the session cookies: dj-rest-auth's login view answers 401 to a
            # request that still carries an expired access cookie, so tests start from none.
            for name in ("access", "refresh"):
                response.delete_cookie(name, samesite="Lax")
        return response


class FaultView(TestView):
    def post(self, request):
        data = request.data if hasattr(request.data, "get") else {}
        if "kind" in data:
            kind = str(data["kind"])
            if kind not in state.FAULT_KINDS:
                return Response({"detail": f"kind must be one of {state.FAULT_KINDS}"}, status=400)
            try:
                count = int(data.get("count", 1))
                hang_ms = int(data.get("hang_ms", state.DEFAULT_HANG_MS))
            except (TypeError, ValueError):
                return Response({"detail": "count and hang_ms must be integers"}, status=400)
            state.add_fault(kind, max(0, count), max(0, hang_ms))
        if "refresh_delay_ms" in data:
            state.set_refresh_delay(_delay_ms(data["refresh_delay_ms"]))
        return Response(state.stats())


class ExpireAccessView(TestView):
    def post(self, request):
        return Response({"ok": True, "cutoff": state.expire_access()})


class InvalidateRefreshView(TestView):
    def post(self, request):
        from rest_framework_simplejwt.token_blacklist.models import (
            BlacklistedToken,
            OutstandingToken,
        )

        outstanding = OutstandingToken.objects.filter(blacklistedtoken__isnull=True)
        blacklisted = BlacklistedToken.objects.bulk_create(
            [BlacklistedToken(token=t) for t in outstanding], ignore_conflicts=True
        )
        return Response({"ok": True, "blacklisted": len(blacklisted)})
