"""HTTP edge of the files domain, mounted by the platform at /api/v1."""

from ninja import Router

router = Router(tags=["files"])
