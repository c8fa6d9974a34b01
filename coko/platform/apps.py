from django.apps import AppConfig


class PlatformConfig(AppConfig):
    """The shared kernel: events, database routing, API wiring, ops surface."""

    name = "coko.platform"
    label = "platform"
    verbose_name = "Platform"

    def ready(self) -> None:
        from coko.platform.events import declared, delivery, registry
        from coko.platform.events.broker import install_broker

        install_broker()
        delivery.declare_actors()
        declared.autodiscover()
        registry.autodiscover()
