"""The placements service's settings: only the shared ones so far."""

from laborcoop.common.settings import ServiceSettings


class PlacementsSettings(ServiceSettings):
    service_name: str = "placements"
