import re

from django.conf import settings
from django.urls import path, re_path
from dj_rest_auth.views import LogoutView

from . import static, views

handler404 = "authflight_server.views.not_found"
handler500 = "authflight_server.views.server_error"

urlpatterns = [
    path("api/health/", views.health),
    path("api/csrf/", views.csrf),
    # No authentication on login/logout: otherwise dj-rest-auth answers 401 to a browser that still
    # holds an expired access cookie, so a user whose session expired could not log in again.
    path("api/auth/login/", views.LoginView.as_view(authentication_classes=[])),
    path("api/auth/logout/", LogoutView.as_view(authentication_classes=[])),
    path("api/auth/token/refresh/", views.RefreshView.as_view()),
    path("api/me/", views.MeView.as_view()),
    path("api/ping/", views.PingView.as_view()),
    path("api/echo/", views.EchoView.as_view()),
    path("api/items/", views.ItemsView.as_view()),
]

if settings.AUTHFLIGHT_TEST_ENDPOINTS:
    urlpatterns += [
        path("api/test/stats/", views.StatsView.as_view()),
        path("api/test/reset/", views.ResetView.as_view()),
        path("api/test/fault/", views.FaultView.as_view()),
        path("api/test/expire-access/", views.ExpireAccessView.as_view()),
        path("api/test/invalidate-refresh/", views.InvalidateRefreshView.as_view()),
    ]

# Anything else under /api/ is a JSON 404, never a static file.
urlpatterns.append(re_path(r"^api/", views.not_found))

for prefix, root in settings.AUTHFLIGHT_STATIC_MOUNTS:
    urlpatterns.append(
        re_path(r"^%s(?P<path>.*)$" % re.escape(prefix.lstrip("/")), static.serve, {"root": root})
    )
if settings.AUTHFLIGHT_STATIC_DIR:
    urlpatterns.append(
        re_path(r"^(?P<path>.*)$", static.serve, {"root": settings.AUTHFLIGHT_STATIC_DIR})
    )
