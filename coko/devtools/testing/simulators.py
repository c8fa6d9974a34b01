"""Transition name: the simulators now live in ``coko.devtools.simulators`` (one module per
provider). Import from there; this re-export goes once no test imports it any more."""

from coko.devtools.simulators import (  # noqa: F401
    Answer,
    FcmSimulator,
    OrangeSmsSimulator,
    RecordedRequest,
    SendGridSimulator,
    TwilioSimulator,
    WebPushSimulator,
)

__all__ = [
    "FcmSimulator",
    "OrangeSmsSimulator",
    "RecordedRequest",
    "SendGridSimulator",
    "TwilioSimulator",
    "WebPushSimulator",
]
