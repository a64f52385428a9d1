from django.apps import AppConfig


class GatewayEventsConfig(AppConfig):
    name = "gateway_events"
    verbose_name = "Gateway events"
