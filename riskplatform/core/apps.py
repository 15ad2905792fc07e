from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "riskplatform.core"
    label = "core"
    verbose_name = "Platform core"
