from csp.decorators import csp_exempt
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from backend.accounts.api import TokenApi
from backend.accounts.views import ThrottledLoginView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/auth/token/", TokenApi.as_view(), name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="schema"),
    path(
        "api/docs/",
        # Swagger UI's page runs an inline script; it shows no user content.
        csp_exempt()(SpectacularSwaggerView.as_view(url_name="schema", permission_classes=[AllowAny])),
        name="api-docs",
    ),
    path("api/", include("backend.accounts.urls")),
    path("api/", include("backend.projects.urls")),
    path("api/", include("backend.images.urls")),
    path("api/", include("backend.annotations.urls")),
    path("api/", include("backend.collab.urls")),
    path("api/", include("backend.training.urls")),
    path("api/", include("backend.exports.urls")),
    path("", include("backend.web.urls")),
]

# Styled error pages with the reason and a way back (JSON under /api/): backend/web/errors.py.
handler403 = "backend.web.errors.forbidden"
handler404 = "backend.web.errors.not_found"
handler500 = "backend.web.errors.server_error"
