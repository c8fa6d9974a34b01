"""Reading the admin console's pages in tests: a change list's columns, as staff see them."""

from __future__ import annotations

import re

_HEADER = re.compile(r'<th scope="col" class="[^"]*\bcolumn-([\w]+)')


def columns(response) -> list[str]:
    """The field names of a change list's columns, left to right (fails on anything but a 200)."""
    assert response.status_code == 200, response.status_code
    return _HEADER.findall(response.content.decode())
