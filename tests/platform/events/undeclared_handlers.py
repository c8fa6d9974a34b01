"""A handler of a type nobody declares: loaded only by the events_catalog test's child process."""

from coko.platform.events import Event, subscribe


@subscribe("test.nobody_declares", domain="analytics", name="analytics.test_deaf")
def deaf(event: Event) -> None:  # pragma: no cover - never delivered
    pass
