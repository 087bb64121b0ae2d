from laborcoop.common.settings import ServiceSettings


class AgreementsSettings(ServiceSettings):
    service_name: str = "agreements"
