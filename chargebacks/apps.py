from django.apps import AppConfig


class ChargebacksConfig(AppConfig):
    name = "chargebacks"
