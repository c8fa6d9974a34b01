"""Event handlers of the notifications domain: what the accounts, payments and community events tell a person."""

from __future__ import annotations

from coko.domains.accounts import api as accounts_api
from coko.domains.accounts.contracts import (
    PASSWORD_RESET_REQUESTED,
    SIGNUP_ADDRESS_TAKEN,
    SIGNUP_CODE_REQUESTED,
    USER_REGISTERED,
    VERIFICATION_REQUESTED,
    CodeRequested,
    SignupAddressTaken,
    SignupCodeRequested,
    UserRegistered,
)
from coko.domains.community.contracts import COMMUNITY_MENTIONED, CommunityMentioned
from coko.domains.payments.contracts import (
    PAYMENT_COMPLETED,
    SUBSCRIPTION_EXPIRING,
    PaymentCompleted,
    SubscriptionExpiring,
)
from coko.platform import money
from coko.platform.errors import NotFound
from coko.platform.events import Event, subscribe
from coko.platform.observability import get_logger

from . import api, services

log = get_logger("coko.notifications")


def _send(event: Event, *, user_id: str, **kwargs) -> None:
    try:
        api.notification_send(user_id=user_id, idempotency_key=f"{event.type}:{event.id}", **kwargs)
    except NotFound:  # the account was closed and erased before we got here: nobody to tell
        log.info("notification skipped: no such user", event_id=str(event.id), event_type=event.type)


@subscribe(USER_REGISTERED)
def welcome_new_user(event: Event) -> None:
    payload = event.payload_as(UserRegistered)
    _send(event, user_id=payload.user_id, template="welcome", category="account", context={})


@subscribe(VERIFICATION_REQUESTED, PASSWORD_RESET_REQUESTED)
def send_one_time_code(event: Event) -> None:
    payload = event.payload_as(CodeRequested)
    template = "password_reset_code" if event.type == PASSWORD_RESET_REQUESTED else "verification_code"
    _send(event, user_id=payload.user_id, template=template, category="security", channels=[payload.channel],
          context={"code_encrypted": payload.code_encrypted, "purpose": payload.purpose})


@subscribe(SIGNUP_CODE_REQUESTED)
def send_signup_code(event: Event) -> None:
    """The code goes to the address being signed up with (no account yet: no inbox, no preferences)."""
    payload = event.payload_as(SignupCodeRequested)
    contact = accounts_api.signup_contact(signup_id=payload.signup_id)
    if contact is None:  # expired and forgotten before we got here: the code is worthless anyway
        log.info("notification skipped: sign-up code forgotten", event_id=str(event.id), event_type=event.type)
        return
    services.notification_send_to_address(
        channel=contact.channel, address=contact.address, language=payload.language, template="signup_code",
        context={"code_encrypted": payload.code_encrypted}, idempotency_key=f"{event.type}:{event.id}")


@subscribe(SIGNUP_ADDRESS_TAKEN)
def warn_signup_address_taken(event: Event) -> None:
    """Someone started a sign-up with this account's address: its owner is told, on that channel."""
    payload = event.payload_as(SignupAddressTaken)
    _send(event, user_id=payload.user_id, template="signup_address_taken", category="security",
          channels=[payload.channel], context={})


# --- payments ---------------------------------------------------------------------------------------------
def _long_date(moment, language: str) -> str:
    from django.utils import formats, translation

    with translation.override(language):
        return formats.date_format(moment, "j F Y")


@subscribe(PAYMENT_COMPLETED)
def send_receipt(event: Event) -> None:
    """The payer's receipt: what they bought, for how much, under which number."""
    paid = event.payload_as(PaymentCompleted)
    _send(event, user_id=paid.user_id, template="receipt", category="payments", context={
        "number": paid.receipt_number, "item_fr": paid.item_fr, "item_en": paid.item_en,
        "amount_fr": money.display(amount=paid.amount, currency=paid.currency, language="fr"),
        "amount_en": money.display(amount=paid.amount, currency=paid.currency, language="en")})


@subscribe(SUBSCRIPTION_EXPIRING)
def remind_pass_expiring(event: Event) -> None:
    """A prepaid pass does not renew by itself: its reader is told before it ends."""
    expiring = event.payload_as(SubscriptionExpiring)
    _send(event, user_id=expiring.user_id, template="pass_expiring", category="payments", context={
        "plan": expiring.plan_slug, "ends_fr": _long_date(expiring.ends_at, "fr"),
        "ends_en": _long_date(expiring.ends_at, "en")})


# --- community --------------------------------------------------------------------------------------------
@subscribe(COMMUNITY_MENTIONED)
def tell_mentioned_reader(event: Event) -> None:
    """A post names a reader (``@handle``): they are told who, and in which topic."""
    mention = event.payload_as(CommunityMentioned)
    _send(event, user_id=mention.mentioned_user_id, template="community_mentioned", category="community",
          context={"author": mention.author_handle, "topic": mention.topic_title})
