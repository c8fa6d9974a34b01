from django.apps import AppConfig


class PlatformConfig(AppConfig):
    """The shared kernel: events, database routing, API wiring, ops surface."""

    name = "coko.platform"
    label = "platform"
    verbose_name = "Platform"

    def ready(self) -> None:
        from django.core import checks

        from coko.platform import scheduling
        from coko.platform.cache import redis_roles_check
        from coko.platform.events import declared, delivery, registry
        from coko.platform.events.broker import install_broker

        checks.register(redis_roles_check, checks.Tags.caches)
        install_broker()
        delivery.declare_actors()
        scheduling.declare_actor()
        declared.autodiscover()
        registry.autodiscover()
