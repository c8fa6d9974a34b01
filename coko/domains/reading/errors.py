"""Every error the reading domain answers: one code, one message, one shape of details.

``book_not_found`` is declared by the catalogue and files too, with this message and ``book_id``.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from coko.platform.errors import ErrorCode, NotFound, PermissionDenied, Unprocessable

D = "reading"

BOOK_NOT_FOUND = ErrorCode(D, "book_not_found", NotFound, _("There is no such book."), details=("book_id",))
BOOK_NOT_READABLE = ErrorCode(D, "book_not_readable", PermissionDenied,
                              _("You do not have access to this book."), details=("book_id", "reason"))
PROGRESS_NOT_FOUND = ErrorCode(D, "progress_not_found", NotFound,
                               _("You have no reading position in this book yet."), details=("book_id",))

# --- a position as a client sends it ---------------------------------------------------------------------
INVALID_LOCATOR = ErrorCode(D, "invalid_locator", Unprocessable,
                            _("This locator is not a valid Readium Locator."), details=("field", "reason"))
INVALID_PROGRESSION = ErrorCode(D, "invalid_progression", Unprocessable,
                                _("A progression is a number from 0 to 1."), details=("field",))
POSITION_MISSING = ErrorCode(D, "position_missing", Unprocessable,
                             _("Send a Readium Locator with its totalProgression, or a KOReader position "
                               "with its percentage."))
CLIENT_TIME_IN_FUTURE = ErrorCode(D, "client_time_in_future", Unprocessable,
                                  _("This time is in the future; check the device's clock."),
                                  details=("client_time", "server_time"))
# the same message and details as payments' invalid_page_cursor
INVALID_PAGE_CURSOR = ErrorCode(D, "invalid_page_cursor", Unprocessable, _("This page cursor is not valid."),
                                details=("cursor",))
