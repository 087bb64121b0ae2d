"""The registry's settings: only the shared ones."""

from laborcoop.common.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    service_name: str = "registry"
