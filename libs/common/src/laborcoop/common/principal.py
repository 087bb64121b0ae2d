"""Who calls: the principal a verified bearer token names (pure; domain code decides with it)."""

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    PROVINCE = "province"
    MINISTRY = "ministry"
    OBSERVER = "observer"


@dataclass(frozen=True, slots=True)
class Principal:
    client_id: str
    province: str | None
    roles: frozenset[Role]

    def has(self, role: Role) -> bool:
        return role in self.roles

    @property
    def is_ministry(self) -> bool:
        return Role.MINISTRY in self.roles

    @property
    def own_province(self) -> str | None:
        """The province this principal acts for: its province, when it holds the ``province``
        role. An observer or the ministry acts for none, whatever province its token names."""
        return self.province if Role.PROVINCE in self.roles else None

    def acts_for(self, province: str) -> bool:
        """True when this principal is the province's own system."""
        return Role.PROVINCE in self.roles and self.province == province
