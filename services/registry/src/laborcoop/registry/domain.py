"""The labour brand aggregate: its state, its rules, and the events each change records.

Plain code, no I/O. Each command checks who may act and whether the state allows it, changes the
state, and records one event; the service layer saves the brand and hands the events to the outbox.

Lifecycle: registered → recognised (at a level, raised later by a higher authority) →
suspended ↔ reinstated → retired (final). A province acts only on its own brands and recognises up
to province level; the ministry recognises at national level and may suspend any brand.
"""

from dataclasses import Field, dataclass, field, fields, make_dataclass, replace
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel

from laborcoop.common.principal import Principal, Role
from laborcoop.common.problems import Forbidden, InvalidInput, InvalidState
from laborcoop.common.recording import record
from laborcoop.contracts.brands import (
    BrandDescription,
    BrandIndicatorsReported,
    BrandRecognised,
    BrandRegistered,
    BrandReinstated,
    BrandRetired,
    BrandSuspended,
    BrandUpdated,
    IndicatorFigures,
)
from laborcoop.contracts.codes import BrandLevel, BrandStatus
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.events import EventPayload
from laborcoop.contracts.ids import uuid7


def _dataclass_fields(model: type[BaseModel]) -> dict[str, Field[Any]]:
    """The dataclass fields of ``model``'s fields (name and type, all keyword-only).

    With them a pydantic model is also a dataclass: ``fields`` and ``replace`` work on it, so
    the repository's table describes its columns (``laborcoop.common.table``) and a use case
    replaces attributes as for any other part of an aggregate."""
    spec = [(name, info.annotation) for name, info in model.model_fields.items()]
    shape: Any = make_dataclass(model.__name__, spec, kw_only=True)
    return dict(shape.__dataclass_fields__)


class Attributes(BrandDescription):
    """What a province describes about its brand: the contract's list of attributes
    (:class:`~laborcoop.contracts.brands.BrandDescription`), declared once for the events, the
    aggregate, its table and the API."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]] = _dataclass_fields(BrandDescription)

    def changed_from(self, other: "Attributes") -> list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name) != getattr(other, f.name)]


@dataclass(frozen=True)
class IndicatorReport:
    period: str
    figures: IndicatorFigures
    revision: int
    source: str | None
    reported_at: datetime


def _check_city(province: str, city_code: str | None) -> None:
    if city_code is not None and (city_code[:2] != province[:2] or city_code == province):
        raise InvalidInput.field("city_code", f"{city_code} is not a city or county of {province}")


@dataclass
class Brand:
    id: UUID
    province: str
    attributes: Attributes
    status: BrandStatus
    level: BrandLevel | None
    suspended_by: Role | None
    version: int
    created_at: datetime
    updated_at: datetime
    pending_events: list[CloudEvent] = field(default_factory=list, repr=False, compare=False)

    # -- commands ---------------------------------------------------------------------------

    @classmethod
    def register(
        cls, principal: Principal, *, province: str, attributes: Attributes, now: datetime
    ) -> "Brand":
        _require_own_province(principal, province, "registers")
        _check_city(province, attributes.city_code)
        brand = cls(
            id=uuid7(),
            province=province,
            attributes=attributes,
            status=BrandStatus.REGISTERED,
            level=None,
            suspended_by=None,
            version=0,
            created_at=now,
            updated_at=now,
        )
        brand._record(BrandRegistered(**brand._snapshot()), now)
        return brand

    def update(self, principal: Principal, attributes: Attributes, now: datetime) -> bool:
        """Replace the attributes; returns False (and records nothing) when nothing changed."""
        _require_own_province(principal, self.province, "edits")
        self._require_not(BrandStatus.RETIRED, action="edit")
        _check_city(self.province, attributes.city_code)
        changed = attributes.changed_from(self.attributes)
        if not changed:
            return False
        self.attributes = attributes
        self._record(BrandUpdated(**self._snapshot(), changed=tuple(changed)), now)
        return True

    def recognise(self, principal: Principal, level: BrandLevel, now: datetime) -> None:
        _require_may_recognise(principal, self.province, level)
        if self.status not in {BrandStatus.REGISTERED, BrandStatus.RECOGNISED}:
            raise InvalidState(self.status, "recognise")
        if self.level is not None and level.rank <= self.level.rank:
            raise InvalidState(
                self.status, f"recognise at {level} level when already at {self.level} level"
            )
        previous, self.level, self.status = self.level, level, BrandStatus.RECOGNISED
        self._record(
            BrandRecognised(
                brand_id=self.id,
                level=level,
                previous_level=previous,
                recognised_by=_acting_role(principal),
            ),
            now,
        )

    def suspend(self, principal: Principal, reason: str, now: datetime) -> None:
        role = _require_ministry_or_own(principal, self.province, "suspends")
        if self.status not in {BrandStatus.REGISTERED, BrandStatus.RECOGNISED}:
            raise InvalidState(self.status, "suspend")
        self.status, self.suspended_by = BrandStatus.SUSPENDED, role
        self._record(BrandSuspended(brand_id=self.id, reason=reason, suspended_by=role), now)

    def reinstate(self, principal: Principal, now: datetime) -> None:
        role = _require_ministry_or_own(principal, self.province, "reinstates")
        if self.status != BrandStatus.SUSPENDED:
            raise InvalidState(self.status, "reinstate")
        if self.suspended_by == Role.MINISTRY and role != Role.MINISTRY:
            raise Forbidden("only the ministry lifts a suspension the ministry imposed")
        self.status = BrandStatus.RECOGNISED if self.level else BrandStatus.REGISTERED
        self.suspended_by = None
        self._record(BrandReinstated(brand_id=self.id, status=self.status, level=self.level), now)

    def retire(self, principal: Principal, reason: str, now: datetime) -> None:
        _require_ministry_or_own(principal, self.province, "retires")
        self._require_not(BrandStatus.RETIRED, action="retire")
        self.status = BrandStatus.RETIRED
        self._record(BrandRetired(brand_id=self.id, reason=reason), now)

    def report_indicators(
        self,
        principal: Principal,
        *,
        period: str,
        figures: IndicatorFigures,
        source: str | None,
        current: IndicatorReport | None,
        now: datetime,
    ) -> IndicatorReport | None:
        """The new report of ``period``, or None when it repeats the current one exactly."""
        _require_own_province(principal, self.province, "reports indicators for")
        self._require_not(BrandStatus.RETIRED, action="report indicators")
        if current is not None and (current.figures, current.source) == (figures, source):
            return None
        revision = current.revision + 1 if current else 1
        self._record(
            BrandIndicatorsReported(
                brand_id=self.id,
                period=period,
                figures=figures,
                revision=revision,
                correction=revision > 1,
                source=source,
            ),
            now,
        )
        return IndicatorReport(period, figures, revision, source, now)

    # -- internals --------------------------------------------------------------------------

    def _require_not(self, status: BrandStatus, *, action: str) -> None:
        if self.status == status:
            raise InvalidState(self.status, action)

    def _snapshot(self) -> dict[str, Any]:
        values = {f.name: getattr(self.attributes, f.name) for f in fields(self.attributes)}
        return {"brand_id": self.id, "province": self.province, **values}

    def _record(self, payload: EventPayload, now: datetime) -> None:
        record(self, payload, now=now, provinces=[self.province])

    def with_attributes(self, **changes: Any) -> Attributes:
        return replace(self.attributes, **changes)


# -- who may act ------------------------------------------------------------------------------


def _require_own_province(principal: Principal, province: str, verb: str) -> None:
    if not principal.acts_for(province):
        raise Forbidden(f"a province {verb} only its own brands")


def _require_ministry_or_own(principal: Principal, province: str, verb: str) -> Role:
    if principal.is_ministry:
        return Role.MINISTRY
    _require_own_province(principal, province, verb)
    return Role.PROVINCE


def _require_may_recognise(principal: Principal, province: str, level: BrandLevel) -> None:
    if level == BrandLevel.NATIONAL:
        if not principal.is_ministry:
            raise Forbidden("only the ministry recognises brands at national level")
        return
    if principal.is_ministry:
        raise Forbidden("the ministry recognises at national level; lower levels are provincial")
    _require_own_province(principal, province, "recognises")


def _acting_role(principal: Principal) -> str:
    return Role.MINISTRY if principal.is_ministry else Role.PROVINCE
