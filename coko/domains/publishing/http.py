"""HTTP edge of the publishing domain, mounted by the platform at /api/v1."""

from ninja import Router

router = Router(tags=["publishing"])
