"""Events of the registry's labour brands (topic ``laborcoop.registry.brands``).

Every event names the brand in ``subject`` and its province in ``provinces``; ``sequence`` is the
brand's version after the change. Payloads carry what a consumer needs without calling back.
"""

from typing import Any, Final
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from laborcoop.contracts import topics
from laborcoop.contracts.codes import (
    BrandCategory,
    BrandLevel,
    BrandOwnership,
    BrandStatus,
    DevelopmentStage,
    Industry,
)
from laborcoop.contracts.events import EventPayload, event_type


class BrandDescription(BaseModel):
    """What a province describes about its brand (everything but identity and lifecycle).

    The one list of a brand's attributes: the events carry them (:class:`BrandAttributes`), the
    registry's aggregate holds them (its ``Attributes`` is this model) and its API derives its
    request and response models from them, so adding an attribute is one line here (plus its
    API validation and its column). Within a major version an attribute added must be optional.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    city_code: str | None = None
    category: BrandCategory
    ownership: BrandOwnership | None = None
    occupations: tuple[str, ...] = ()
    industry: Industry | None = None
    description: str | None = None
    operator: str | None = None
    development_stage: DevelopmentStage | None = None


class _BrandKey(EventPayload):
    """The brand an event of :class:`BrandAttributes` is about.

    ``name`` is declared here only for its place: pydantic lists a field where a class first
    declares it, so the published schemas keep ``brand_id, name, province`` first, while
    :class:`BrandDescription`, later in the method resolution order, gives ``name`` its type."""

    brand_id: UUID
    name: str
    province: str


class BrandAttributes(BrandDescription, _BrandKey):
    """The descriptive attributes of a brand, as registered or after an update."""


@event_type("cn.laborcoop.registry.brand.registered.v1", topic=topics.BRANDS)
class BrandRegistered(BrandAttributes):
    """A province registered a labour brand."""


@event_type("cn.laborcoop.registry.brand.updated.v1", topic=topics.BRANDS)
class BrandUpdated(BrandAttributes):
    """A brand's attributes changed; ``changed`` names the fields, the rest is the new state."""

    changed: tuple[str, ...] = ()


@event_type("cn.laborcoop.registry.brand.recognised.v1", topic=topics.BRANDS)
class BrandRecognised(EventPayload):
    """An authority recognised (认定) the brand at ``level``."""

    brand_id: UUID
    level: BrandLevel
    previous_level: BrandLevel | None = None
    recognised_by: str


@event_type("cn.laborcoop.registry.brand.suspended.v1", topic=topics.BRANDS)
class BrandSuspended(EventPayload):
    """The brand was suspended; ``suspended_by`` is the role that did it."""

    brand_id: UUID
    reason: str
    suspended_by: str


@event_type("cn.laborcoop.registry.brand.reinstated.v1", topic=topics.BRANDS)
class BrandReinstated(EventPayload):
    """A suspension was lifted; the brand is back in ``status``."""

    brand_id: UUID
    status: BrandStatus
    level: BrandLevel | None = None


@event_type("cn.laborcoop.registry.brand.retired.v1", topic=topics.BRANDS)
class BrandRetired(EventPayload):
    """The brand left the register for good."""

    brand_id: UUID
    reason: str


class IndicatorFigures(BaseModel):
    """Figures of one period; a figure the reporter does not know is absent, never zero."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    practitioners: int | None = None
    jobs_created: int | None = None
    people_trained: int | None = None
    labour_income_yuan: int | None = None
    output_value_yuan: int | None = None
    average_monthly_wage_yuan: int | None = None
    skilled_share: float | None = None
    satisfaction: float | None = None


@event_type("cn.laborcoop.registry.brand.indicators_reported.v1", topic=topics.BRANDS)
class BrandIndicatorsReported(EventPayload):
    """A brand's indicators for ``period``; ``revision`` > 1 is a correction of the last."""

    brand_id: UUID
    period: str
    figures: IndicatorFigures
    revision: int
    correction: bool
    source: str | None = None


BRAND_CHANGES: tuple[type[EventPayload], ...] = (
    BrandUpdated,
    BrandRecognised,
    BrandSuspended,
    BrandReinstated,
    BrandRetired,
)
"""The events that change a registered brand's name or standing (all but indicator reports)."""


def status_after(payload: EventPayload) -> BrandStatus | None:
    """The brand's status once ``payload`` happened, if the event changes it."""
    match payload:
        case BrandRegistered():
            return BrandStatus.REGISTERED
        case BrandRecognised():
            return BrandStatus.RECOGNISED
        case BrandSuspended():
            return BrandStatus.SUSPENDED
        case BrandReinstated():
            return payload.status
        case BrandRetired():
            return BrandStatus.RETIRED
    return None


BRAND_COLUMNS: Final = frozenset({"name", "province", "category", "status", "level"})
"""What :func:`brand_columns` may name: the brand's state a consumer can keep in a copy."""


def brand_columns(payload: EventPayload) -> dict[str, Any]:
    """The parts of a brand's state that ``payload`` sets, by the names of :data:`BRAND_COLUMNS`.

    Given once here so every copy of brands reads the events alike; a copy keeps the names it
    needs. An event that sets none of them (an indicator report) gives ``{}``."""
    values: dict[str, Any] = {}
    if isinstance(payload, BrandAttributes):
        values.update(name=payload.name, province=payload.province, category=payload.category)
    if (status := status_after(payload)) is not None:
        values["status"] = status
    if isinstance(payload, BrandRecognised | BrandReinstated):
        values["level"] = payload.level
    return values
