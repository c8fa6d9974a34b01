"""Email through Django's email backend: SMTP by default, SendGrid through django-anymail
when ``SENDGRID_API_KEY`` is set (or any backend named by ``EMAIL_BACKEND``)."""

from __future__ import annotations

import smtplib
import socket

from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import make_msgid

from . import InvalidRecipient, Outgoing, PermanentFailure, Sent, TemporaryFailure


class EmailAdapter:
    name = "email"

    def send(self, message: Outgoing) -> Sent:
        msgid = make_msgid(domain=settings.COKO_NOTIFICATIONS["MESSAGE_ID_DOMAIN"])
        email = EmailMultiAlternatives(subject=message.subject, body=message.text,
                                       from_email=settings.DEFAULT_FROM_EMAIL, to=[message.to],
                                       headers={"Message-ID": msgid})
        if message.html:
            email.attach_alternative(message.html, "text/html")
        try:
            with get_connection(fail_silently=False, timeout=settings.EMAIL_TIMEOUT) as connection:
                sent = connection.send_messages([email])
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _msg in exc.recipients.values()]
            if all(400 <= code < 500 for code in codes):
                raise TemporaryFailure(f"recipient refused for now: {exc.recipients}") from exc
            raise InvalidRecipient(f"recipient refused: {exc.recipients}") from exc
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                raise TemporaryFailure(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
            raise PermanentFailure(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
        except AnymailRecipientsRefused as exc:
            raise InvalidRecipient(f"recipient refused by the provider: {exc}") from exc
        except AnymailAPIError as exc:
            status = exc.status_code or 0
            if status == 429 or status >= 500 or status == 0:
                raise TemporaryFailure(f"email provider answered {status or 'nothing'}: {exc}") from exc
            raise PermanentFailure(f"email provider refused the message ({status}): {exc}") from exc
        except (smtplib.SMTPException, OSError, socket.timeout) as exc:
            raise TemporaryFailure(f"SMTP unavailable: {exc}") from exc
        if not sent:
            raise TemporaryFailure("the email backend sent nothing")
        status = getattr(email, "anymail_status", None)
        if status is not None and status.message_id:
            return Sent(provider=settings.EMAIL_BACKEND.split(".")[2], provider_id=str(status.message_id))
        return Sent(provider="smtp" if "smtp" in settings.EMAIL_BACKEND else settings.EMAIL_BACKEND.rsplit(".", 1)[-1],
                    provider_id=msgid)
