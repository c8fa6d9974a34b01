"""Every error the payments domain answers: one code, one message, one shape of details."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from coko.platform.auth import errors as auth_errors
from coko.platform.errors import Conflict, DomainError, ErrorCode, NotFound, Unprocessable

D = "payments"

# --- what is for sale -----------------------------------------------------------------------------------
PLAN_NOT_FOUND = ErrorCode(D, "plan_not_found", NotFound, _("There is no such plan."), details=("plan",))
PLAN_NOT_PRICED = ErrorCode(D, "plan_not_priced", Unprocessable, _("This plan is not sold in this currency."),
                            details=("plan", "currency", "currencies"))
BOOK_NOT_FOR_SALE = ErrorCode(D, "book_not_for_sale", Unprocessable, _("This book is not for sale."),
                              details=("book_id",))
BOOK_ALREADY_OWNED = ErrorCode(D, "book_already_owned", Conflict, _("You already own this book."),
                               details=("book_id",))

# --- orders and payments --------------------------------------------------------------------------------
ORDER_NOT_FOUND = ErrorCode(D, "order_not_found", NotFound, _("There is no such order."), details=("order_id",))
ORDER_NOT_PAYABLE = ErrorCode(D, "order_not_payable", Conflict, _("This order can no longer be paid."),
                              details=("order_id", "status"))
RECEIPT_NOT_FOUND = ErrorCode(D, "receipt_not_found", NotFound, _("This order has no receipt."),
                              details=("order_id",))
PROVIDER_NOT_CONFIGURED = ErrorCode(D, "provider_not_configured", Unprocessable,
                                    _("This server is not set up to take payments with this provider."),
                                    details=("provider",))
PROVIDER_CURRENCY = ErrorCode(D, "provider_currency", Unprocessable,
                              _("This provider does not take payments in this currency."),
                              details=("provider", "currency"))
PROVIDER_UNAVAILABLE = ErrorCode(D, "provider_unavailable", Conflict,
                                 _("The payment provider did not answer; nothing was charged. Try again."),
                                 details=("provider",))
PAYMENT_REFUSED = ErrorCode(D, "payment_refused", Unprocessable, _("The payment provider refused this payment."),
                            details=("provider",))
# the same message as notifications' invalid_idempotency_key
INVALID_IDEMPOTENCY_KEY = ErrorCode(D, "invalid_idempotency_key", Unprocessable,
                                    _("The idempotency key is missing or too long."))
IDEMPOTENCY_KEY_REUSED = ErrorCode(D, "idempotency_key_reused", Conflict,
                                   _("This Idempotency-Key was already used for another request."))
INVALID_PAGE_CURSOR = ErrorCode(D, "invalid_page_cursor", Unprocessable, _("This page cursor is not valid."),
                                details=("cursor",))
REQUEST_IN_PROGRESS = ErrorCode(D, "request_in_progress", Conflict,
                                _("The same request is still being processed. Try again in a moment."))
REFUND_NOT_POSSIBLE = ErrorCode(D, "refund_not_possible", Conflict, _("This order cannot be refunded."),
                                details=("order_id", "status"))

# --- passes and codes -----------------------------------------------------------------------------------
NO_SUBSCRIPTION = ErrorCode(D, "no_subscription", NotFound, _("You have no pass to cancel."))
ACCESS_CODE_INVALID = ErrorCode(D, "access_code_invalid", Unprocessable,
                                _("This code is not valid, has expired or has been used up."))
ACCESS_CODE_ALREADY_REDEEMED = ErrorCode(D, "access_code_already_redeemed", Conflict,
                                         _("You have already redeemed this code."))

# --- webhooks -------------------------------------------------------------------------------------------
WEBHOOK_REJECTED = ErrorCode(D, "webhook_rejected", DomainError,
                             _("This notification could not be verified and was ignored."),
                             details=("reason",))

PERMISSION_DENIED = auth_errors.PERMISSION_DENIED  # the platform's: one code, one shape in every domain
