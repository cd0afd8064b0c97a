"""REST endpoints of samhand.alerts, mounted under /api/v1/ by samhand/api/api.py."""

from ninja import Router

router = Router(tags=["alerts"])
