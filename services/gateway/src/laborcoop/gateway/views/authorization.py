"""Who may see what in the gateway's views: the rules, written once (pure; no I/O).

A caller is one :class:`Viewer` kind, from its token's roles (:func:`viewer_of`):

- a **province** (role ``province`` with its province code) sees by record its own records and
  those of the agreements and placements it is a party to; other provinces only as aggregates
  (counts, flows, rankings), never a record of theirs;
- the **ministry** sees every aggregate, and records where the owning services show them to it:
  agreements once public (active, expired, terminated: the agreements service's rule), every
  demand (the placements service lists them to any caller); never a placement (the placements
  service refuses the ministry every placement record);
- an **observer** sees the national aggregates only;
- anyone else (no role the views know, or a ``province`` role without a province) sees nothing.

Ministry wins over province when a token carries both (it sees more, and acts for no one).

What each view lets each kind see is :data:`ACCESS`; :func:`require` refuses the others with a
403. Within a view, records are filtered by the ``sees_*`` predicates; the list queries apply the
same rules in SQL (``laborcoop.gateway.views.repository``: a change here changes them too), and
``services/gateway/tests/test_view_authorization.py`` checks both against one matrix.
A record the caller may not see is absent from every list and a 404 where it is named.

Aggregates never count a draft agreement except in its initiator's own overview: a draft was
shown to no one else.
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from laborcoop.common.principal import Principal, Role
from laborcoop.common.problems import Forbidden
from laborcoop.contracts.codes import AgreementStatus


class Kind(StrEnum):
    PROVINCE = "province"
    MINISTRY = "ministry"
    OBSERVER = "observer"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Viewer:
    kind: Kind
    province: str | None = None
    """The province a ``province`` viewer acts for (None for every other kind)."""

    def is_province(self, code: str) -> bool:
        return self.kind is Kind.PROVINCE and self.province == code


def viewer_of(principal: Principal) -> Viewer:
    if principal.has(Role.MINISTRY):
        return Viewer(Kind.MINISTRY)
    if (province := principal.own_province) is not None:
        return Viewer(Kind.PROVINCE, province)
    if principal.has(Role.OBSERVER):
        return Viewer(Kind.OBSERVER)
    return Viewer(Kind.NONE)


class View(StrEnum):
    """The gateway's views, one per route."""

    AGREEMENTS = "GET /v1/agreements"
    DEMANDS = "GET /v1/demands"
    PLACEMENTS = "GET /v1/placements"
    PROVINCES = "GET /v1/provinces"
    PROVINCE_OVERVIEW = "GET /v1/provinces/{code}/overview"
    CORRIDORS = "GET /v1/corridors"
    BRAND_IMPACT = "GET /v1/brands/{brand_id}/impact"
    NATIONAL = "GET /v1/national/overview"


_RECORDS_AND_AGGREGATES: Final = frozenset({Kind.PROVINCE, Kind.MINISTRY})

ACCESS: Final[Mapping[View, frozenset[Kind]]] = {
    View.AGREEMENTS: _RECORDS_AND_AGGREGATES,
    View.DEMANDS: _RECORDS_AND_AGGREGATES,
    View.PLACEMENTS: frozenset({Kind.PROVINCE}),
    View.PROVINCES: _RECORDS_AND_AGGREGATES,
    View.PROVINCE_OVERVIEW: _RECORDS_AND_AGGREGATES,
    View.CORRIDORS: _RECORDS_AND_AGGREGATES,
    View.BRAND_IMPACT: _RECORDS_AND_AGGREGATES,
    View.NATIONAL: frozenset({Kind.PROVINCE, Kind.MINISTRY, Kind.OBSERVER}),
}
"""The kinds of viewer each view answers; every other kind gets a 403."""

_REFUSAL: Final = {
    Kind.PROVINCE: "this view is not open to provinces",
    Kind.MINISTRY: "placements are records of people: the ministry reads their aggregates "
    "(the overviews, corridors and brand impact)",
    Kind.OBSERVER: "observers read the national aggregates only (/v1/national/overview)",
    Kind.NONE: "this token names no role the views answer (province, ministry or observer)",
}


def require(viewer: Viewer, view: View) -> None:
    """403 unless ``viewer`` may use ``view`` at all."""
    if viewer.kind not in ACCESS[view]:
        raise Forbidden(_REFUSAL[viewer.kind])


PUBLIC_AGREEMENT_STATES: Final = frozenset(
    {AgreementStatus.ACTIVE, AgreementStatus.EXPIRED, AgreementStatus.TERMINATED}
)
"""States in which the agreements service shows an agreement to any caller (the ministry)."""


def sees_agreement(viewer: Viewer, status: str, initiator: str, parties: Collection[str]) -> bool:
    """The agreement's record: a draft to its initiator, any other state to its parties; to the
    ministry once public."""
    if viewer.kind is Kind.MINISTRY:
        return status in PUBLIC_AGREEMENT_STATES
    if viewer.kind is not Kind.PROVINCE or viewer.province not in parties:
        return False
    return status != AgreementStatus.DRAFT or viewer.province == initiator


def counts_agreement(viewer: Viewer, status: str, initiator: str, own_overview: bool) -> bool:
    """Whether an aggregate counts the agreement: drafts only in the initiator's own overview."""
    if status != AgreementStatus.DRAFT:
        return True
    return own_overview and viewer.is_province(initiator)


def sees_demand(viewer: Viewer, province: str) -> bool:
    """A demand's record: to its province, and to the ministry."""
    return viewer.kind is Kind.MINISTRY or viewer.is_province(province)


def sees_placement(viewer: Viewer, origin: str, destination: str) -> bool:
    """A placement's record: to its origin and its destination only."""
    return viewer.is_province(origin) or viewer.is_province(destination)


def sees_records_of(viewer: Viewer, province: str) -> bool:
    """Whether a province's overview shows ``viewer`` the province's own record-level parts
    (its draft agreements counted, its agreements' targets beside their actuals are filtered by
    :func:`sees_agreement` in any case)."""
    return viewer.kind is Kind.MINISTRY or viewer.is_province(province)


@dataclass(frozen=True, slots=True)
class AgreementScope:
    """:func:`sees_agreement` as the list query applies it: ``province`` (a province viewer's
    own code) or, for the ministry, the public states."""

    province: str | None
    public_states: tuple[str, ...] | None


def agreement_scope(viewer: Viewer) -> AgreementScope:
    require(viewer, View.AGREEMENTS)
    if viewer.kind is Kind.MINISTRY:
        return AgreementScope(None, tuple(sorted(PUBLIC_AGREEMENT_STATES)))
    return AgreementScope(viewer.province, None)


def demand_scope(viewer: Viewer) -> str | None:
    """:func:`sees_demand` as the list query applies it: the province whose demands the viewer
    sees, or None (the ministry: all)."""
    require(viewer, View.DEMANDS)
    return None if viewer.kind is Kind.MINISTRY else viewer.province


def placement_scope(viewer: Viewer) -> str:
    """:func:`sees_placement` as the list query applies it: the viewer's province, either side."""
    require(viewer, View.PLACEMENTS)
    assert viewer.province is not None, "only a province viewer reaches here"
    return viewer.province
