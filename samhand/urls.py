"""Root URL configuration: each app brings its own urls module.

Every route must declare its access policy; the route-walk test in
samhand/tests_security/test_route_walk.py fails for a route it does not know.
"""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("samhand.web.urls")),
    path("", include("samhand.alerts.urls")),
    path("", include("samhand.pathways.urls")),
    path("", include("samhand.plans.urls")),
    path("", include("samhand.observations.urls")),
    path("", include("samhand.messaging.urls")),
    path("accounts/", include("samhand.accounts.urls")),
    path("api/", include("samhand.api.urls")),
    path("fhir/", include("samhand.fhir.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "samhand.web.errors.bad_request"
handler403 = "samhand.web.errors.permission_denied"
handler404 = "samhand.web.errors.page_not_found"
handler500 = "samhand.web.errors.server_error"
