"""Simple JWT token classes whose access tokens carry an issue stamp.

JWT `iat` has one-second resolution, so "revoke every access token issued before now" cannot be
decided from it. Each new access token gets a claim `af_stamp`, a strictly increasing nanosecond
value from state.next_stamp(); /api/test/expire-access/ records a cut-off stamp, and the
authentication class (auth.py) rejects tokens stamped at or before it. Otherwise these are the stock
classes: same lifetimes, rotation, blacklist and outstanding-token bookkeeping.
"""

from dj_rest_auth.jwt_auth import CookieTokenRefreshSerializer
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from . import state

STAMP_CLAIM = "af_stamp"


class StampedAccessToken(AccessToken):
    def __init__(self, token=None, verify=True):
        super().__init__(token, verify)
        if token is None:
            self[STAMP_CLAIM] = state.next_stamp()


class StampedRefreshToken(RefreshToken):
    # RefreshToken.access_token builds `access_token_class()` and copies the refresh token's
    # claims except type/exp/jti/iat; the refresh token itself never carries STAMP_CLAIM.
    access_token_class = StampedAccessToken


class StampedTokenObtainPairSerializer(TokenObtainPairSerializer):
    """Used by dj-rest-auth's LoginView (REST_AUTH JWT_TOKEN_CLAIMS_SERIALIZER)."""

    token_class = StampedRefreshToken


class StampedCookieTokenRefreshSerializer(CookieTokenRefreshSerializer):
    """dj-rest-auth's cookie refresh serializer (reads the `refresh` cookie), stamped tokens."""

    token_class = StampedRefreshToken
