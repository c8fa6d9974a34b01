from coko.platform.events.admin import register_event_admin

from .models import DeadLetter, InboxEntry, OutboxEvent

register_event_admin(outbox=OutboxEvent, inbox=InboxEntry, dead_letter=DeadLetter)
