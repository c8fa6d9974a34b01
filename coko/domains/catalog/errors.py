"""Every error the catalog domain answers: one code, one message, one shape of details.

Raise them as ``BOOK_NOT_FOUND(book_id=str(book_id))``; the call checks the detail keys.
``book_not_found`` is declared by the files domain too, with this message and ``book_id``.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from coko.platform.auth import errors as auth_errors
from coko.platform.auth.basic import BASIC_CHALLENGE
from coko.platform.errors import Conflict, DomainError, ErrorCode, NotFound, PermissionDenied, Unprocessable

D = "catalog"


class BasicSignIn(DomainError):
    """401 with an HTTP ``Basic`` challenge: what an OPDS reader app understands."""

    status = 401

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": BASIC_CHALLENGE}


# --- not found ----------------------------------------------------------------------------------
BOOK_NOT_FOUND = ErrorCode(D, "book_not_found", NotFound, _("There is no such book."), details=("book_id",))
AUTHOR_NOT_FOUND = ErrorCode(D, "author_not_found", NotFound, _("There is no such author."),
                             details=("author_id",))
AUTHOR_NAME_NOT_FOUND = ErrorCode(D, "author_name_not_found", NotFound,
                                  _("No author has this name (GET /authors?q= finds near ones)."),
                                  details=("author",))
PUBLISHER_NOT_FOUND = ErrorCode(D, "publisher_not_found", NotFound, _("There is no such publisher."),
                                details=("publisher_id",))
SERIES_NOT_FOUND = ErrorCode(D, "series_not_found", NotFound, _("There is no such series."),
                             details=("series_id",))
CATEGORY_NOT_FOUND = ErrorCode(D, "category_not_found", NotFound, _("There is no such category."),
                               details=("slug",))
COLLECTION_NOT_FOUND = ErrorCode(D, "collection_not_found", NotFound, _("There is no such collection."),
                                 details=("slug",))

# --- who may write ------------------------------------------------------------------------------
PERMISSION_DENIED = auth_errors.PERMISSION_DENIED  # the platform's: one code, one shape in every domain
NOT_YOUR_BOOK = ErrorCode(D, "not_your_book", PermissionDenied,
                          _("Only the book's author or staff may change it."))

# --- a book's fields ----------------------------------------------------------------------------
INVALID_TITLE = ErrorCode(D, "invalid_title", Unprocessable, _("A book needs a title."))
INVALID_LANGUAGE = ErrorCode(D, "invalid_language", Unprocessable, _("This language is not accepted here."),
                             details=("field", "value"))  # an ISO 639 code: fr, en, wo, sw, ar …
INVALID_ISBN = ErrorCode(D, "invalid_isbn", Unprocessable,
                         _("This is not a valid ISBN: 10 or 13 digits (978/979…) with a correct check digit."),
                         details=("isbn",))
ISBN_TAKEN = ErrorCode(D, "isbn_taken", Conflict, _("Another book already has this ISBN."), details=("isbn",))
INVALID_ACCESS_MODEL = ErrorCode(D, "invalid_access_model", Unprocessable,
                                 _("Access model must be free, subscription or sale."),
                                 details=("access_model",))
INVALID_PRICE = ErrorCode(D, "invalid_price", Unprocessable,
                          _("A book for sale needs a positive price in XOF, EUR or USD (minor units); "
                            "other books have no price."),
                          details=("access_model", "price_amount", "price_currency"))
INVALID_AUTHOR = ErrorCode(D, "invalid_author", Unprocessable, _("An author needs a name."))
INVALID_AUTHOR_ROLE = ErrorCode(D, "invalid_author_role", Unprocessable, _("Unknown author role."),
                                details=("role",))
UNKNOWN_AUTHOR = ErrorCode(D, "unknown_author", Unprocessable, _("There is no such author."), details=("id",))
UNKNOWN_CATEGORY = ErrorCode(D, "unknown_category", Unprocessable, _("There is no such category."),
                             details=("categories",))
INVALID_FORMAT = ErrorCode(D, "invalid_format", Unprocessable, _("Unknown format."), details=("kind",))

# --- a book's life ------------------------------------------------------------------------------
BOOK_INCOMPLETE = ErrorCode(D, "book_incomplete", Unprocessable, _("This book cannot be published yet."),
                            details=("missing",))
BOOK_NOT_PUBLISHED = ErrorCode(D, "book_not_published", Conflict, _("Only a published book can be withdrawn."),
                               details=("status",))

# --- categories ---------------------------------------------------------------------------------
CATEGORY_EXISTS = ErrorCode(D, "category_exists", Conflict, _("A category with this slug exists."),
                            details=("slug",))

# --- reads --------------------------------------------------------------------------------------
INVALID_CURSOR = ErrorCode(D, "invalid_cursor", Unprocessable, _("This cursor is not valid for this sort."),
                           details=("cursor",))
UNKNOWN_FIELDS = ErrorCode(D, "unknown_fields", Unprocessable, _("These fields cannot be used here."),
                           details=("fields", "allowed"))

# --- the OPDS feeds -----------------------------------------------------------------------------
#: a query parameter a feed cannot answer; ``expected`` says (translated) what it takes
INVALID_FEED_QUERY = ErrorCode(D, "bad_request", DomainError, _("This feed cannot answer this query."),
                               details=("parameter", "expected"), status=400)
SIGN_IN_REQUIRED = ErrorCode(D, "unauthorized", BasicSignIn, _("Authentication is required."))
