"""HTTP edge of the gamification domain, mounted by the platform at /api/v1."""

from ninja import Router

router = Router(tags=["gamification"])
