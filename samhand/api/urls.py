"""/api/: version 1 of the REST API; any other address answers JSON (401 or 404)."""

from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from .api import api
from .errors import unknown_route

app_name = "api"  # samhand.web.middleware lets this namespace authenticate itself

urlpatterns = [
    path("v1/", api.urls),
    # csrf_exempt: unknown_route never changes anything and checks CSRF itself.
    re_path(r"^(?P<rest>.*)$", csrf_exempt(unknown_route)),
]
