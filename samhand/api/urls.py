"""/api/: version 1 of the REST API; any other address answers JSON (401 or 404)."""

from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import RedirectView

from .api import api
from .errors import unknown_route

app_name = "api"  # samhand.web.middleware lets this namespace authenticate itself

urlpatterns = [
    # ninja's own root view only raises 404; send people to the docs instead.
    path("v1/", RedirectView.as_view(pattern_name="api:v1:openapi-view"), name="root"),
    path("v1/", api.urls),
    # csrf_exempt: unknown_route never changes anything and checks CSRF itself.
    re_path(r"^(?P<rest>[\s\S]*)$", csrf_exempt(unknown_route), name="unknown"),
]
