"""REST endpoints of samhand.plans, mounted under /api/v1/ by samhand/api/api.py."""

from ninja import Router

router = Router(tags=["plans"])
