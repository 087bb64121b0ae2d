"""The one table of laborcoop's services: the stack, the launcher and the Makefile read it."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Service:
    """A service as the local stack runs it: console script, default port, database, demo data,
    and whether it needs personal-data keys (``laborcoop.devstack.personal_keys``)."""

    name: str
    port: int
    database: str
    seeds: bool
    personal_data_keys: bool = False

    @property
    def script(self) -> str:
        return f"laborcoop-{self.name}"

    @property
    def port_variable(self) -> str:
        return f"LABORCOOP_{self.name.upper()}_PORT"


# In start and seed order: the agreements seed reads the brands the registry seed loaded, the
# placements seed places workers under the agreements its copy has learnt of by then (and outside
# any otherwise), and the gateway forwards to the other three. The default ports are those of
# services/*/cli.py.
SERVICES: tuple[Service, ...] = (
    Service("registry", 8101, "registry", seeds=True),
    Service("agreements", 8102, "agreements", seeds=True),
    Service("placements", 8103, "placements", seeds=True, personal_data_keys=True),
    Service("gateway", 8100, "gateway", seeds=False),
)


def by_name(name: str) -> Service:
    for service in SERVICES:
        if service.name == name:
            return service
    raise KeyError(name)
