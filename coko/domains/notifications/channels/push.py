"""Push channel adapters: Firebase Cloud Messaging (HTTP v1) and Web Push (VAPID).

FCM is spoken directly over HTTP v1 with ``httpx``, authorised by a Google
service-account access token from ``google-auth`` (the same credentials
``firebase-admin`` would use). ``firebase-admin`` has no public way to point
``messaging.send`` at another endpoint (its URL is the private
``_MessagingService.FCM_URL``), retries 5xx inside its own ``requests`` session
(hiding failures from our retry policy and delivery records), and pulls in
grpcio, Firestore and Cloud Storage; the HTTP v1 call is one small POST.

Every connection (FCM, its token endpoint, each web-push endpoint) goes through
``coko.platform.outbound``: a destination that resolves to a private, loopback or link-local
address is refused (``PermanentFailure``; for a web-push subscription ``InvalidRecipient``,
so the subscription is dropped) unless ``COKO_OUTBOUND_ALLOWED_HOSTS`` names it.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
from django.conf import settings

from coko.platform import outbound

from . import InvalidRecipient, Outgoing, PermanentFailure, Sent, TemporaryFailure
from .sms import DEFAULT_TIMEOUT, parse_retry_after

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"


def _load_service_account() -> dict[str, Any] | None:
    info = getattr(settings, "FCM_SERVICE_ACCOUNT_INFO", None)
    if isinstance(info, str) and info.strip():
        return json.loads(info)
    if isinstance(info, dict):
        return info
    path = getattr(settings, "FCM_SERVICE_ACCOUNT_FILE", "")
    if path:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    return None


class FcmPushAdapter:
    """FCM HTTP v1: ``POST {base}/v1/projects/{project}/messages:send``."""

    name = "push"
    provider = "fcm"

    def __init__(
        self,
        *,
        credentials: Any = None,
        service_account_info: dict[str, Any] | None = None,
        project_id: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        from google.oauth2 import service_account

        if credentials is None:
            info = service_account_info or _load_service_account()
            if info is None:
                raise PermanentFailure("FCM is not configured (FCM_SERVICE_ACCOUNT_FILE / FCM_SERVICE_ACCOUNT_INFO)")
            credentials = service_account.Credentials.from_service_account_info(info, scopes=[FCM_SCOPE])
            project_id = project_id or info.get("project_id")
        self._credentials = credentials
        self.project_id = project_id or getattr(settings, "FCM_PROJECT_ID", "") or getattr(credentials, "project_id", None)
        if not self.project_id:
            raise PermanentFailure("FCM project id is not configured (FCM_PROJECT_ID)")
        self.base_url = (base_url or getattr(settings, "FCM_BASE_URL", "https://fcm.googleapis.com")).rstrip("/")
        self._client = client or outbound.http_client(timeout=timeout or getattr(settings, "FCM_TIMEOUT", DEFAULT_TIMEOUT))
        self._token_session = outbound.requests_session()
        self._lock = threading.Lock()

    def _access_token(self, *, force: bool = False) -> str:
        import google.auth.exceptions
        import google.auth.transport.requests

        with self._lock:
            if force or not self._credentials.valid:
                try:
                    self._credentials.refresh(google.auth.transport.requests.Request(session=self._token_session))
                except outbound.OutboundRefused as exc:
                    raise PermanentFailure(f"fcm token: {exc}") from exc
                except google.auth.exceptions.TransportError as exc:
                    raise TemporaryFailure(f"fcm token: {exc}") from exc
                except google.auth.exceptions.RefreshError as exc:
                    if getattr(exc, "retryable", False):
                        raise TemporaryFailure(f"fcm token: {exc}") from exc
                    raise PermanentFailure(f"fcm token refused: {exc}") from exc
            return self._credentials.token

    def send(self, message: Outgoing) -> Sent:
        token = (message.to or "").strip()
        if not token:
            raise InvalidRecipient("empty FCM registration token")
        body: dict[str, Any] = {
            "message": {
                "token": token,
                "notification": {"title": message.subject, "body": message.text},
            }
        }
        if message.data:
            body["message"]["data"] = {str(k): str(v) for k, v in message.data.items()}
        url = f"{self.base_url}/v1/projects/{self.project_id}/messages:send"
        resp = self._post(url, body, self._access_token())
        if resp.status_code == 401:  # access token expired or revoked: refresh once
            resp = self._post(url, body, self._access_token(force=True))
        return self._result(resp)

    def _post(self, url: str, body: dict[str, Any], access_token: str) -> httpx.Response:
        try:
            return self._client.post(url, json=body, headers={"Authorization": f"Bearer {access_token}"})
        except outbound.OutboundRefused as exc:
            raise PermanentFailure(f"fcm: {exc}") from exc
        except httpx.HTTPError as exc:
            raise TemporaryFailure(f"fcm: {exc}") from exc

    def _result(self, resp: httpx.Response) -> Sent:
        status = resp.status_code
        if status == 200:
            return Sent(provider=self.provider, provider_id=resp.json()["name"])
        try:
            error = resp.json().get("error") or {}
        except (ValueError, AttributeError):
            error = {}
        details = error.get("details") or []
        fcm_code = next((d.get("errorCode") for d in details if d.get("@type") == FCM_ERROR_TYPE), None)
        violations = [v.get("field", "") for d in details for v in d.get("fieldViolations", []) or []]
        detail = f"fcm: HTTP {status} {fcm_code or error.get('status', '')}: {error.get('message', resp.text[:200])}"
        if status == 429 or status >= 500 or fcm_code in ("QUOTA_EXCEEDED", "UNAVAILABLE", "INTERNAL"):
            raise TemporaryFailure(detail, retry_after=parse_retry_after(resp.headers.get("Retry-After")))
        if fcm_code in ("UNREGISTERED", "SENDER_ID_MISMATCH"):
            raise InvalidRecipient(detail)
        if status == 400 and (
            "message.token" in violations or "registration token" in str(error.get("message", "")).lower()
        ):
            raise InvalidRecipient(detail)
        raise PermanentFailure(detail)


class WebPushAdapter:
    """Web Push with VAPID through ``pywebpush``; ``Outgoing.to`` is the
    subscription JSON (``{"endpoint": ..., "keys": {"p256dh": ..., "auth": ...}}``)."""

    name = "webpush"
    provider = "webpush"

    def __init__(
        self,
        *,
        vapid_private_key: Any = None,
        vapid_subject: str | None = None,
        ttl: int | None = None,
        timeout: float | None = None,
    ) -> None:
        self.vapid_private_key = vapid_private_key or getattr(settings, "WEBPUSH_VAPID_PRIVATE_KEY", "")
        self.vapid_subject = vapid_subject or getattr(settings, "WEBPUSH_VAPID_SUBJECT", "mailto:admin@coko.africa")
        self.ttl = ttl if ttl is not None else getattr(settings, "WEBPUSH_TTL", 24 * 3600)
        self.timeout = timeout or getattr(settings, "WEBPUSH_TIMEOUT", DEFAULT_TIMEOUT)
        self._session = outbound.requests_session()

    def send(self, message: Outgoing) -> Sent:
        import requests
        from pywebpush import WebPushException, webpush

        try:
            subscription = json.loads(message.to)
            endpoint = subscription["endpoint"]
            keys = subscription["keys"]
            if not (endpoint and keys.get("p256dh") and keys.get("auth")):
                raise KeyError("keys")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidRecipient(f"not a web-push subscription: {exc}") from exc
        if not self.vapid_private_key:
            raise PermanentFailure("Web Push is not configured (WEBPUSH_VAPID_PRIVATE_KEY)")
        payload = json.dumps({"title": message.subject, "body": message.text, "data": dict(message.data)})
        try:
            response = webpush(
                subscription_info=subscription,
                data=payload,
                vapid_private_key=self.vapid_private_key,
                vapid_claims={"sub": self.vapid_subject},
                ttl=self.ttl,
                timeout=self.timeout,
                requests_session=self._session,
            )
        except WebPushException as exc:
            status = exc.status_code
            detail = f"webpush: HTTP {status}: {exc.message}" if status else f"webpush: {exc.message}"
            if status is None:
                raise InvalidRecipient(detail) from exc  # the subscription itself is malformed
            if status in (404, 410):
                raise InvalidRecipient(detail) from exc
            if status == 429 or status >= 500:
                raise TemporaryFailure(detail, retry_after=parse_retry_after(exc.retry_after)) from exc
            raise PermanentFailure(detail) from exc
        except outbound.OutboundRefused as exc:
            raise InvalidRecipient(f"webpush: {exc}") from exc  # the subscription names a refused host
        except requests.RequestException as exc:
            raise TemporaryFailure(f"webpush: {exc}") from exc
        location = response.headers.get("Location", "")
        return Sent(provider=self.provider, provider_id=location.rstrip("/").rsplit("/", 1)[-1] or endpoint)
