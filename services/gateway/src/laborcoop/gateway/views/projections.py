"""The gateway's read models of every topic: one consumer group per topic, each with its
dead-letter topic ``laborcoop.dlq.<group>``.

Every table keeps its aggregate's ``version`` (the events' ``sequence``) and ``updated_at`` (the
newest applied event's ``time``). As in every copy (``laborcoop.common.copies``), the creating
event inserts the row (``ON CONFLICT DO NOTHING``), every other event of the topic sets the
columns it changes and moves the version on only ``WHERE version <`` its own: an event not newer
changes nothing, a redelivery is dropped by the consumer's inbox before, and an event of an
aggregate not yet held updates nothing (on one partition the creating event comes first).
Column names are constants of this module; values reach the SQL only as placeholders.

- ``gateway.projections`` (brands): ``brand_view`` as before (``laborcoop.gateway.projections``),
  plus ``brand_indicator_view``: the latest report of each period, by the brand's version.
- ``gateway.agreements``: ``agreement_view``, the terms as they stand, kept by
  ``laborcoop.common.copies.AgreementCopy`` as the placements service's copy is (each event's
  ``copy_change`` says what it changes); this module holds only the SQL writing the terms, and
  keeps who signed and an amendment under signature as the agreements service shows them.
- ``gateway.demands``: ``demand_view``.
- ``gateway.workers``: ``worker_view``, the worker's opaque id, origin, brand and availability
  (what the events carry: never personal data); ``registered`` and ``updated`` both carry the
  whole profile, so either writes the row if newer; ``consent_changed`` moves the version on.
- ``gateway.placements``: ``placement_view``; dates the events carry (``on``) are kept as
  dates, the instants of events without one (proposal, acceptance, termination) as instants.
"""

from collections.abc import Mapping
from typing import Any, Final

from laborcoop.common.consumer import Subscription
from laborcoop.common.copies import AgreementCopy
from laborcoop.common.db import Connection
from laborcoop.contracts import topics
from laborcoop.contracts.agreements import (
    AgreementAmended,
    AgreementDeclined,
    AgreementEvent,
    AgreementExpired,
    AgreementProposed,
    AgreementSigned,
    AgreementTerminated,
    TermsStand,
)
from laborcoop.contracts.brands import BrandIndicatorsReported
from laborcoop.contracts.corridors import corridor, corridors_of
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.placements import (
    DemandClosed,
    DemandFilled,
    DemandPosted,
    PlacementAccepted,
    PlacementCompleted,
    PlacementDeclined,
    PlacementEvent,
    PlacementMilestoneReached,
    PlacementOnboarded,
    PlacementProposed,
    PlacementReturned,
    PlacementTerminated,
    WorkerConsentChanged,
    WorkerProfile,
    WorkerRegistered,
    WorkerUpdated,
)
from laborcoop.gateway import projections as brands

BRANDS_GROUP: Final = brands.GROUP
AGREEMENTS_GROUP: Final = "gateway.agreements"
DEMANDS_GROUP: Final = "gateway.demands"
WORKERS_GROUP: Final = "gateway.workers"
PLACEMENTS_GROUP: Final = "gateway.placements"


async def _insert(
    conn: Connection, table: str, key: str, event: CloudEvent, values: Mapping[str, Any]
) -> None:
    """The aggregate's row, unless a redelivery already wrote it."""
    row = {key: event.subject, **values, "version": event.version, "updated_at": event.time}
    placeholders = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    await conn.execute(
        f"INSERT INTO {table} ({', '.join(row)}) VALUES ({placeholders})"
        f" ON CONFLICT ({key}) DO NOTHING",
        *row.values(),
    )


async def _advance(
    conn: Connection, table: str, key: str, event: CloudEvent, values: Mapping[str, Any]
) -> None:
    """The version moves on, with ``values``, if the event is newer than the row."""
    changes = {"version": event.version, "updated_at": event.time, **values}
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(changes, start=2))
    await conn.execute(
        f"UPDATE {table} SET {assignments} WHERE {key} = $1 AND version < $2",
        event.subject,
        *changes.values(),
    )


# -- brands: indicators, beside brand_view ----------------------------------------------------

_INDICATORS = """
INSERT INTO brand_indicator_view AS i
    (brand_id, period, revision, practitioners, jobs_created, people_trained,
     labour_income_yuan, output_value_yuan, average_monthly_wage_yuan, skilled_share,
     satisfaction, source, version, reported_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
ON CONFLICT (brand_id, period) DO UPDATE
SET revision = EXCLUDED.revision, practitioners = EXCLUDED.practitioners,
    jobs_created = EXCLUDED.jobs_created, people_trained = EXCLUDED.people_trained,
    labour_income_yuan = EXCLUDED.labour_income_yuan,
    output_value_yuan = EXCLUDED.output_value_yuan,
    average_monthly_wage_yuan = EXCLUDED.average_monthly_wage_yuan,
    skilled_share = EXCLUDED.skilled_share, satisfaction = EXCLUDED.satisfaction,
    source = EXCLUDED.source, version = EXCLUDED.version, reported_at = EXCLUDED.reported_at
WHERE i.version < EXCLUDED.version
"""


async def _indicators_reported(
    conn: Connection, event: CloudEvent, payload: BrandIndicatorsReported
) -> None:
    await brands.BRAND_VIEW.apply_change(conn, event, payload)
    f = payload.figures
    await conn.execute(
        _INDICATORS,
        payload.brand_id,
        payload.period,
        payload.revision,
        f.practitioners,
        f.jobs_created,
        f.people_trained,
        f.labour_income_yuan,
        f.output_value_yuan,
        f.average_monthly_wage_yuan,
        f.skilled_share,
        f.satisfaction,
        payload.source,
        event.version,
        event.time,
    )


BRANDS: Final = brands.SUBSCRIPTION.handle(BrandIndicatorsReported, _indicators_reported)
"""``brand_view`` as ``laborcoop.gateway.projections`` keeps it, and the indicators."""

# -- agreements --------------------------------------------------------------------------------

_WRITE_TERMS = """
INSERT INTO agreement_view AS a
    (agreement_id, status, kind, title, initiator, parties, areas, linked_brands,
     target_corridors, corridors, effective_from, effective_to, revision, terms, version,
     created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)
ON CONFLICT (agreement_id) DO UPDATE
SET status = EXCLUDED.status, kind = EXCLUDED.kind, title = EXCLUDED.title,
    initiator = EXCLUDED.initiator, parties = EXCLUDED.parties, areas = EXCLUDED.areas,
    linked_brands = EXCLUDED.linked_brands, target_corridors = EXCLUDED.target_corridors,
    corridors = EXCLUDED.corridors, effective_from = EXCLUDED.effective_from,
    effective_to = EXCLUDED.effective_to, revision = EXCLUDED.revision, terms = EXCLUDED.terms,
    version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
WHERE a.version < EXCLUDED.version
"""


def agreement_row(event: CloudEvent, stand: TermsStand) -> tuple[Any, ...]:
    """The values of an ``agreement_view`` row holding the terms ``event`` carries, in the
    column order of its insert (``updated_at`` last, ``created_at`` before it)."""
    terms = stand.terms
    return (
        event.subject,
        stand.status.value,
        terms.kind.value,
        terms.title,
        terms.initiator,
        [p.province for p in terms.parties],
        [a.value for a in terms.areas],
        list(terms.linked_brands),
        sorted({corridor(t.origin, t.destination) for t in terms.targets}),
        corridors_of(terms),
        terms.effective_from,
        terms.effective_to,
        stand.revision,
        terms.model_dump(mode="json"),
        event.version,
        event.time,
    )


async def _write_terms(conn: Connection, event: CloudEvent, stand: TermsStand) -> None:
    """The terms ``event`` carries become the row's, with their status (inserting the row if it
    is missing: the terms are the whole agreement)."""
    await conn.execute(_WRITE_TERMS, *agreement_row(event, stand))


_SIGNATURE: Final = (
    "jsonb_build_array(jsonb_build_object('province', $3::text, 'signed_at', $4::text))"
)
_SIGNED: Final = f"""
signatures = CASE WHEN amendment IS NULL THEN signatures || {_SIGNATURE} ELSE signatures END,
amendment_signatures = CASE WHEN amendment IS NOT NULL THEN amendment_signatures || {_SIGNATURE}
                            ELSE amendment_signatures END"""
_AMENDMENT_DROPPED: Final = "amendment = NULL, amendment_signatures = '[]'"


def _signature_change(event: CloudEvent, payload: AgreementEvent) -> tuple[str, list[Any]] | None:
    """The ``SET`` clause (and its arguments from ``$3``) of what ``payload`` changes in who
    signed, as the agreements service's aggregate changes it; None: nothing."""
    match payload:
        case AgreementProposed(amendment=True):
            return "amendment = $3, amendment_signatures = '[]'", [
                payload.terms.model_dump(mode="json")
            ]
        case AgreementProposed() | AgreementDeclined(amendment=False):
            return "signatures = '[]'", []
        case AgreementSigned():
            return _SIGNED, [payload.province, event.time.isoformat()]
        case AgreementAmended():
            return f"signatures = amendment_signatures, {_AMENDMENT_DROPPED}", []
        case AgreementDeclined() | AgreementExpired() | AgreementTerminated():
            return _AMENDMENT_DROPPED, []
        case _:
            return None


async def _signatures(conn: Connection, event: CloudEvent, payload: AgreementEvent) -> None:
    """Who signed the revision being signed or in force, and an amendment under signature with
    its signatures (only when ``event`` was applied: the row is at its version)."""
    change = _signature_change(event, payload)
    if change is not None:
        clause, args = change
        await conn.execute(
            f"UPDATE agreement_view SET {clause} WHERE agreement_id = $1 AND version = $2",
            event.subject,
            event.version,
            *args,
        )


AGREEMENTS: Final = AgreementCopy("agreement_view", _write_terms, also=_signatures).subscription(
    AGREEMENTS_GROUP
)

# -- demands -----------------------------------------------------------------------------------

_DEMAND: Final = ("demand_view", "demand_id")
_POSTED: Final = frozenset(
    {
        "province",
        "kind",
        "employer_name",
        "employer_credit_code",
        "occupation",
        "headcount",
        "wage_min",
        "wage_max",
        "city_code",
        "start_date",
        "end_date",
    }
)
"""The columns ``posted`` writes as its payload names them (a field added to the payload later
is not one of them until a migration adds its column)."""


async def _posted(conn: Connection, event: CloudEvent, payload: DemandPosted) -> None:
    values = payload.model_dump(mode="json", include=set(_POSTED))
    values.update(
        status="open",
        start_date=payload.start_date,
        end_date=payload.end_date,
        preferred_brands=list(payload.preferred_brands),
    )
    values["created_at"] = event.time
    await _insert(conn, *_DEMAND, event, values)


async def _filled(conn: Connection, event: CloudEvent, payload: DemandFilled) -> None:
    await _advance(conn, *_DEMAND, event, {"status": "filled"})


async def _closed(conn: Connection, event: CloudEvent, payload: DemandClosed) -> None:
    await _advance(
        conn, *_DEMAND, event, {"status": payload.status.value, "closed_reason": payload.reason}
    )


DEMANDS: Final = (
    Subscription(group=DEMANDS_GROUP, topics=[topics.DEMANDS])
    .handle(DemandPosted, _posted)
    .handle(DemandFilled, _filled)
    .handle(DemandClosed, _closed)
)

# -- workers -----------------------------------------------------------------------------------

_WORKER = """
INSERT INTO worker_view AS w (worker_id, origin, availability, brand_id, version, updated_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (worker_id) DO UPDATE
SET origin = EXCLUDED.origin, availability = EXCLUDED.availability,
    brand_id = EXCLUDED.brand_id, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
WHERE w.version < EXCLUDED.version
"""


async def _profile(conn: Connection, event: CloudEvent, payload: WorkerProfile) -> None:
    await conn.execute(
        _WORKER,
        event.subject,
        payload.origin,
        payload.availability.value,
        payload.brand_id,
        event.version,
        event.time,
    )


async def _consent(conn: Connection, event: CloudEvent, payload: WorkerConsentChanged) -> None:
    await _advance(conn, "worker_view", "worker_id", event, {})


WORKERS: Final = (
    Subscription(group=WORKERS_GROUP, topics=[topics.WORKERS])
    .handle(WorkerRegistered, _profile)
    .handle(WorkerUpdated, _profile)
    .handle(WorkerConsentChanged, _consent)
)

# -- placements --------------------------------------------------------------------------------

_PLACEMENT: Final = ("placement_view", "placement_id")


async def _proposed_placement(
    conn: Connection, event: CloudEvent, payload: PlacementProposed
) -> None:
    values = {
        "worker_id": payload.worker_id,
        "demand_id": payload.demand_id,
        "origin": payload.origin,
        "destination": payload.destination,
        "agreement_id": payload.agreement_id,
        "brand_id": payload.brand_id,
        "occupation": payload.occupation,
        "beyond_target": payload.beyond_target,
        "status": payload.status.value,
        "proposed_at": event.time,
    }
    await _insert(conn, *_PLACEMENT, event, values)


def _placement_changes(event: CloudEvent, payload: PlacementEvent) -> dict[str, Any]:
    """The columns a later placement event sets: the status after it, and what it records."""
    changes: dict[str, Any] = {"status": payload.status.value}
    match payload:
        case PlacementAccepted():
            changes["accepted_at"] = event.time
        case PlacementDeclined():
            changes["end_reason"] = payload.reason
        case PlacementOnboarded():
            changes["onboarded_on"] = payload.on
        case PlacementMilestoneReached(months=3):
            changes["retained_3m_on"] = payload.on
        case PlacementMilestoneReached(months=6):
            changes["retained_6m_on"] = payload.on
        case PlacementCompleted():
            changes["completed_on"] = payload.on
        case PlacementTerminated():
            changes.update(terminated_at=event.time, end_reason=payload.reason)
        case PlacementReturned():
            changes.update(
                returned_on=payload.on,
                follow_up=payload.follow_up.value,
                follow_up_note=payload.note,
            )
    return changes


async def _placement_changed(conn: Connection, event: CloudEvent, payload: PlacementEvent) -> None:
    await _advance(conn, *_PLACEMENT, event, _placement_changes(event, payload))


PLACEMENTS: Final = (
    Subscription(group=PLACEMENTS_GROUP, topics=[topics.PLACEMENTS])
    .handle(PlacementProposed, _proposed_placement)
    .handle(PlacementAccepted, _placement_changed)
    .handle(PlacementDeclined, _placement_changed)
    .handle(PlacementOnboarded, _placement_changed)
    .handle(PlacementMilestoneReached, _placement_changed)
    .handle(PlacementCompleted, _placement_changed)
    .handle(PlacementTerminated, _placement_changed)
    .handle(PlacementReturned, _placement_changed)
)

SUBSCRIPTIONS: Final = (BRANDS, AGREEMENTS, DEMANDS, WORKERS, PLACEMENTS)
"""Every consumer group of the gateway, one per topic."""

GROUP_OF: Final[Mapping[str, str]] = {
    topic: subscription.group for subscription in SUBSCRIPTIONS for topic in subscription.topics
}
"""The consumer group applying each topic."""
