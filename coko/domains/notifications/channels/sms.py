"""SMS channel adapters: the Orange SMS API and Twilio.

Both validate the destination as E.164 (``phonenumbers``) before any HTTP call and
map the provider's answers onto ``Sent`` / ``TemporaryFailure`` /
``PermanentFailure`` / ``InvalidRecipient``. Retrying is the caller's business.
Connections go through ``coko.platform.outbound`` (a provider URL that resolves to a private
address is a ``PermanentFailure`` unless ``COKO_OUTBOUND_ALLOWED_HOSTS`` names it).
"""

from __future__ import annotations

import base64
import threading
import time
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx
import phonenumbers
from django.conf import settings

from coko.platform import outbound

from . import InvalidRecipient, Outgoing, PermanentFailure, Sent, TemporaryFailure

DEFAULT_TIMEOUT = 10.0


def to_e164(number: str) -> str:
    """The number in E.164 form, or ``InvalidRecipient``. Only ``+<country><number>`` is accepted."""
    raw = (number or "").strip()
    if not raw.startswith("+"):
        raise InvalidRecipient(f"not an E.164 number: {raw!r}")
    try:
        parsed = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidRecipient(f"not an E.164 number: {raw!r} ({exc})") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidRecipient(f"invalid phone number: {raw!r}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _sms_text(message: Outgoing) -> str:
    return message.text or message.subject


class OrangeSmsAdapter:
    """Orange SMS API: OAuth2 client credentials, then ``outboundSMSMessageRequest``."""

    name = "sms"
    provider = "orange"

    def __init__(
        self,
        *,
        base_url: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        sender: str | None = None,
        sender_name: str | None = None,
        timeout: float | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.base_url = (base_url or getattr(settings, "ORANGE_SMS_BASE_URL", "https://api.orange.com")).rstrip("/")
        self.client_id = client_id if client_id is not None else getattr(settings, "ORANGE_SMS_CLIENT_ID", "")
        self.client_secret = client_secret if client_secret is not None else getattr(settings, "ORANGE_SMS_CLIENT_SECRET", "")
        # The sender is the account's number, e.g. "+2210000" (the country code followed by zeros on Orange).
        sender = sender if sender is not None else getattr(settings, "ORANGE_SMS_SENDER", "")
        self.sender = "+" + sender.strip().removeprefix("tel:").lstrip("+")
        self.sender_name = sender_name if sender_name is not None else getattr(settings, "ORANGE_SMS_SENDER_NAME", "") or None
        self.timeout = timeout or getattr(settings, "ORANGE_SMS_TIMEOUT", DEFAULT_TIMEOUT)
        self._client = client or outbound.http_client(timeout=self.timeout)
        self._token: str | None = None
        self._token_expires_at = 0.0
        self._lock = threading.Lock()

    # token ---------------------------------------------------------------------
    def _access_token(self, *, force: bool = False) -> str:
        with self._lock:
            if not force and self._token and time.monotonic() < self._token_expires_at:
                return self._token
            basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
            try:
                resp = self._client.post(
                    f"{self.base_url}/oauth/v3/token",
                    headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
                    data={"grant_type": "client_credentials"},
                )
            except outbound.OutboundRefused as exc:
                raise PermanentFailure(f"orange token: {exc}") from exc
            except httpx.HTTPError as exc:
                raise TemporaryFailure(f"orange token: {exc}") from exc
            if resp.status_code == 429 or resp.status_code >= 500:
                raise TemporaryFailure(f"orange token: HTTP {resp.status_code}", retry_after=parse_retry_after(resp.headers.get("Retry-After")))
            if resp.status_code != 200:
                raise PermanentFailure(f"orange token refused: HTTP {resp.status_code} {resp.text[:200]}")
            body = resp.json()
            self._token = body["access_token"]
            # Refresh a little before the announced expiry.
            self._token_expires_at = time.monotonic() + max(0.0, float(body.get("expires_in", 3600)) - 30)
            return self._token

    # send ----------------------------------------------------------------------
    def send(self, message: Outgoing) -> Sent:
        to = to_e164(message.to)
        request: dict[str, Any] = {
            "address": f"tel:{to}",
            "senderAddress": f"tel:{self.sender}",
            "outboundSMSTextMessage": {"message": _sms_text(message)},
        }
        if self.sender_name:
            request["senderName"] = self.sender_name
        url = f"{self.base_url}/smsmessaging/v1/outbound/{quote(f'tel:{self.sender}', safe='')}/requests"
        resp = self._post(url, request, self._access_token())
        if resp.status_code == 401:  # expired or revoked: one fresh token, one retry
            resp = self._post(url, request, self._access_token(force=True))
        return self._result(resp)

    def _post(self, url: str, request: dict[str, Any], token: str) -> httpx.Response:
        try:
            return self._client.post(
                url,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                json={"outboundSMSMessageRequest": request},
            )
        except outbound.OutboundRefused as exc:
            raise PermanentFailure(f"orange sms: {exc}") from exc
        except httpx.HTTPError as exc:
            raise TemporaryFailure(f"orange sms: {exc}") from exc

    def _result(self, resp: httpx.Response) -> Sent:
        status = resp.status_code
        if status == 201:
            resource_url = resp.json()["outboundSMSMessageRequest"].get("resourceURL", "")
            return Sent(provider=self.provider, provider_id=resource_url.rstrip("/").rsplit("/", 1)[-1])
        if status == 429 or status >= 500:
            raise TemporaryFailure(f"orange sms: HTTP {status}", retry_after=parse_retry_after(resp.headers.get("Retry-After")))
        try:
            body = resp.json()
        except ValueError:
            body = {}
        error = (body.get("requestError") or {}) if isinstance(body, dict) else {}
        exc_body = error.get("serviceException") or error.get("policyException") or {}
        message_id = exc_body.get("messageId", "")
        detail = f"orange sms: HTTP {status} {message_id} {exc_body.get('text', '')} {exc_body.get('variables', '')}".strip()
        if message_id == "SVC0004":  # no valid addresses
            raise InvalidRecipient(detail)
        raise PermanentFailure(detail if exc_body else f"orange sms: HTTP {status} {resp.text[:200]}")


class TwilioSmsAdapter:
    """Twilio Programmable Messaging through the ``twilio`` package.

    The package's own ``TwilioHttpClient`` is subclassed only to rebase
    ``https://api.twilio.com`` onto ``TWILIO_BASE_URL`` (the loopback simulator in
    tests); everything else (auth, form encoding, error parsing) is twilio's.
    """

    name = "sms"
    provider = "twilio"
    TWILIO_API = "https://api.twilio.com"

    def __init__(
        self,
        *,
        account_sid: str | None = None,
        auth_token: str | None = None,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
    ) -> None:
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        self.account_sid = account_sid or getattr(settings, "TWILIO_ACCOUNT_SID", "")
        self.from_number = from_number if from_number is not None else getattr(settings, "TWILIO_FROM_NUMBER", "")
        self.messaging_service_sid = messaging_service_sid or getattr(settings, "TWILIO_MESSAGING_SERVICE_SID", "") or None
        base = (base_url or getattr(settings, "TWILIO_BASE_URL", self.TWILIO_API)).rstrip("/")
        api = self.TWILIO_API

        local = self._local = threading.local()

        class _RebasedHttpClient(TwilioHttpClient):
            def request(self, method, url, *args, **kwargs):  # type: ignore[override]
                if base != api and url.startswith(api):
                    url = base + url[len(api):]
                response = super().request(method, url, *args, **kwargs)
                local.retry_after = (response.headers or {}).get("Retry-After")
                return response

        self._http = _RebasedHttpClient(timeout=timeout or getattr(settings, "TWILIO_TIMEOUT", DEFAULT_TIMEOUT))
        outbound.requests_mount(self._http.session)  # twilio's own session, through the checked adapter
        self._client = Client(self.account_sid, auth_token or getattr(settings, "TWILIO_AUTH_TOKEN", ""), http_client=self._http)

    def send(self, message: Outgoing) -> Sent:
        import requests
        from twilio.base.exceptions import TwilioRestException

        to = to_e164(message.to)
        self._local.retry_after = None
        kwargs: dict[str, Any] = {"to": to, "body": _sms_text(message)}
        if self.messaging_service_sid:
            kwargs["messaging_service_sid"] = self.messaging_service_sid
        else:
            kwargs["from_"] = self.from_number
        try:
            created = self._client.messages.create(**kwargs)
        except TwilioRestException as exc:
            detail = f"twilio: HTTP {exc.status} code {exc.code}: {exc.msg}"
            if exc.status == 429 or exc.code == 20429 or (exc.status or 0) >= 500:
                retry_after = parse_retry_after(getattr(self._local, "retry_after", None))
                raise TemporaryFailure(detail, retry_after=retry_after) from exc
            if exc.code in (21211, 21614, 21610, 21612, 21408):  # invalid / not mobile / opted out / unreachable
                raise InvalidRecipient(detail) from exc
            raise PermanentFailure(detail) from exc
        except outbound.OutboundRefused as exc:
            raise PermanentFailure(f"twilio: {exc}") from exc
        except requests.RequestException as exc:
            raise TemporaryFailure(f"twilio: {exc}") from exc
        return Sent(provider=self.provider, provider_id=created.sid)
