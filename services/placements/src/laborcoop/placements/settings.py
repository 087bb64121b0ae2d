from laborcoop.common.settings import ServiceSettings


class PlacementsSettings(ServiceSettings):
    service_name: str = "placements"
