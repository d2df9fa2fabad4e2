"""The registry's Django app."""

from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "crpsmap.registry"
    label = "registry"
    verbose_name = "crpsmap clinic registry"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crpsmap.registry import signals  # noqa: F401 - connects the audit receivers
