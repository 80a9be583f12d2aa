"""DRF authentication: dj-rest-auth's JWTCookieAuthentication plus two test-server hooks.

1. Access tokens revoked by /api/test/expire-access/ are rejected with the same 401 body Simple JWT
   gives for an expired token ({"detail": "Given token not valid for any token type",
   "code": "token_not_valid", "messages": [...]}).
2. With AUTHFLIGHT_CSRF=1, the Origin check also accepts AUTHFLIGHT_TRUSTED_ORIGINS entries with a
   port wildcard (http://127.0.0.1:*), which Django's CSRF_TRUSTED_ORIGINS cannot express.
"""

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from dj_rest_auth.jwt_auth import JWTCookieAuthentication
from rest_framework import exceptions
from rest_framework.authentication import CSRFCheck
from rest_framework_simplejwt.exceptions import InvalidToken

from . import state
from .tokens import STAMP_CLAIM


class _CSRFCheck(CSRFCheck):
    def _origin_verified(self, request):
        if super()._origin_verified(request):
            return True
        origin = request.META.get("HTTP_ORIGIN", "")
        return any(rx.match(origin) for rx in settings.AUTHFLIGHT_CSRF_ORIGIN_REGEXES)


class AuthflightJWTCookieAuthentication(JWTCookieAuthentication):
    def enforce_csrf(self, request):
        # Same as dj-rest-auth's, with the port-wildcard origin check above.
        check = _CSRFCheck(lambda req: None)
        check.process_request(request)
        reason = check.process_view(request, None, (), {})
        if reason:
            raise exceptions.PermissionDenied(f"CSRF Failed: {reason}")

    def get_validated_token(self, raw_token):
        token = super().get_validated_token(raw_token)
        cutoff = state.access_cutoff()
        if cutoff and token.get(STAMP_CLAIM, 0) <= cutoff:
            raise InvalidToken(
                {
                    "detail": _("Given token not valid for any token type"),
                    "messages": [
                        {
                            "token_class": type(token).__name__,
                            "token_type": token.token_type,
                            "message": _("Token is expired"),
                        }
                    ],
                }
            )
        return token
