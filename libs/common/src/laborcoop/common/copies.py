"""A service's copy of another service's aggregate, kept from that aggregate's events.

Services never read each other's databases (docs/design.md §2); a service that needs another's
data keeps the columns it needs in a table of its own. Every such copy works alike, so it is
declared here once: the event that creates the aggregate inserts the row (``ON CONFLICT DO
NOTHING``, so a redelivery changes nothing), and every other event type of the topic sets the
columns it changes, the ``version`` (the event's ``sequence``) and ``updated_at`` (its ``time``),
only ``WHERE version <`` the event's. Every type advances the version, even one that sets none of
the copy's columns, so the version is always the aggregate's (a brand's ``ETag``).

The table has the key column (the aggregate's id, the events' ``subject``), the copied columns,
``version`` and ``updated_at``. How events map to columns is given by the contract (for brands
``laborcoop.contracts.brands.brand_columns``); a copy keeps only the names it declares.
Column names come only from the declaration, checked when it is made; values reach the SQL only as
placeholders.

An event older than the copy is ignored whole: if an older event arrives after a newer one (a
dead letter re-driven late), the columns only it sets stay as they were. An event of an aggregate
not yet in the copy updates nothing; on one partition the creating event always comes first.
"""

import re
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from laborcoop.common.consumer import Subscription
from laborcoop.common.db import Connection
from laborcoop.contracts import topics
from laborcoop.contracts.agreements import (
    AGREEMENT_EVENTS,
    AgreementEvent,
    StatusMoves,
    TermsStand,
)
from laborcoop.contracts.brands import BRAND_COLUMNS, BrandRegistered, brand_columns
from laborcoop.contracts.envelope import CloudEvent
from laborcoop.contracts.events import EventPayload, all_specs

MANAGED: Final = frozenset({"version", "updated_at"})
"""Columns every copy has and sets itself from the envelope."""

_IDENTIFIER: Final = re.compile(r"[a-z_][a-z0-9_]*")

Columns = Callable[[EventPayload], Mapping[str, Any]]
"""The columns an event sets, by name, with their new values."""


@dataclass(frozen=True)
class CopyOf:
    """Table ``table`` keyed by ``key``: a copy of the aggregates whose events are on ``topic``.

    ``created`` is the payload class of the event that creates an aggregate; ``keeps`` names the
    columns kept besides the key, ``version`` and ``updated_at``; ``columns`` maps an event to
    the columns it sets, among ``known`` (the names the mapping may give). A kept column the
    mapping never gives, or a name that is not a plain SQL identifier, is refused here, when the
    service declares its copy, not when the first event arrives."""

    table: str
    key: str
    topic: str
    created: type[EventPayload]
    keeps: Sequence[str]
    columns: Columns
    known: Collection[str]

    def __post_init__(self) -> None:
        if refusals := self._refusals():
            raise ValueError(f"copy {self.table!r}: {'; '.join(refusals)}")

    def _refusals(self) -> list[str]:
        """What is wrong with the declaration, if anything."""
        refusals: list[str] = []
        if bad := [n for n in (self.table, self.key, *self.keeps) if not _IDENTIFIER.fullmatch(n)]:
            refusals.append(f"not plain SQL identifiers: {bad}")
        if unknown := [name for name in self.keeps if name not in self.known]:
            refusals.append(f"no event sets columns {unknown}")
        if reserved := [name for name in self.keeps if name in MANAGED | {self.key}]:
            refusals.append(f"columns {reserved} are set by the copy itself")
        if len(set(self.keeps)) != len(self.keeps):
            refusals.append(f"a column is named twice in {list(self.keeps)}")
        if self.created not in self.event_types():
            refusals.append(f"{self.created.__name__} is not an event type of {self.topic}")
        return refusals

    def event_types(self) -> list[type[EventPayload]]:
        """The payload classes of every event type registered for the topic."""
        return [spec.payload for spec in all_specs() if spec.topic == self.topic]

    def subscription(self, group: str) -> Subscription:
        """The consumer group ``group`` keeping this copy: the creating event inserts, every other
        type of the topic (those registered when this is called) updates."""
        subscription = Subscription(group=group, topics=[self.topic])
        for kind in self.event_types():
            if kind is not self.created:
                subscription = subscription.handle(kind, self.apply_change)
        return subscription.handle(self.created, self.insert)

    def kept(self, payload: EventPayload) -> dict[str, Any]:
        """The kept columns ``payload`` sets; a name the mapping did not declare is a bug there."""
        values = self.columns(payload)
        if undeclared := [name for name in values if name not in self.known]:
            raise ValueError(f"{payload.event_type} maps to undeclared columns {undeclared}")
        return {name: value for name, value in values.items() if name in self.keeps}

    async def insert(self, conn: Connection, event: CloudEvent, payload: EventPayload) -> None:
        """The aggregate was created: its row, unless a redelivery already wrote it."""
        row = {
            self.key: event.subject,
            **self.kept(payload),
            "version": event.version,
            "updated_at": event.time,
        }
        placeholders = ", ".join(f"${i}" for i in range(1, len(row) + 1))
        await conn.execute(
            f"INSERT INTO {self.table} ({', '.join(row)}) VALUES ({placeholders})"
            f" ON CONFLICT ({self.key}) DO NOTHING",
            *row.values(),
        )

    async def apply_change(
        self, conn: Connection, event: CloudEvent, payload: EventPayload
    ) -> None:
        """Any later event: the version moves on, with the kept columns the event sets."""
        changes = {"version": event.version, "updated_at": event.time, **self.kept(payload)}
        assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(changes, start=2))
        await conn.execute(
            f"UPDATE {self.table} SET {assignments} WHERE {self.key} = $1 AND version < $2",
            event.subject,
            *changes.values(),
        )


BRAND_COPY: Final = CopyOf(
    table="brand_copy",
    key="brand_id",
    topic=topics.BRANDS,
    created=BrandRegistered,
    keeps=("name", "province", "status"),
    columns=brand_columns,
    known=BRAND_COLUMNS,
)
"""The copy of the registry's brands a service checks references against (the agreements'
linked brands, the placements' workers' brands): a brand's name, province and standing, in a
table ``brand_copy`` of the service's own migrations. Each service subscribes with its own
group: ``BRAND_COPY.subscription("<service>.brands")``."""


WriteTerms = Callable[[Connection, CloudEvent, TermsStand], Awaitable[None]]
"""Writes the terms an event carries into a service's agreement copy (its own columns)."""

AlsoKeep = Callable[[Connection, CloudEvent, AgreementEvent], Awaitable[None]]
"""What a service keeps beyond the shared columns, run after the shared change in its
transaction; it should change only ``WHERE version =`` the event's (the event was applied)."""


@dataclass(frozen=True)
class AgreementCopy:
    """A copy of the agreements whose rows depend on what they hold, which :class:`CopyOf`'s
    one mapping of event to columns cannot express: each agreement event says what it changes
    (``copy_change`` in ``laborcoop.contracts.agreements``), either the terms as they now stand,
    written by the service's own ``write_terms`` (its columns differ), or only the version and
    perhaps the status, which every agreement copy does alike here.

    The table has ``agreement_id``, ``status``, ``revision``, ``version`` and ``updated_at``;
    ``write_terms`` must, like this, change nothing ``WHERE version >=`` the event's. ``also``,
    when given, keeps a service's further columns (the gateway's signatures)."""

    table: str
    write_terms: WriteTerms
    also: AlsoKeep | None = None

    def __post_init__(self) -> None:
        if not _IDENTIFIER.fullmatch(self.table):
            raise ValueError(f"{self.table!r} is not a plain SQL identifier")

    def subscription(self, group: str) -> Subscription:
        return Subscription(group=group, topics=[topics.AGREEMENTS]).handle_each(
            AGREEMENT_EVENTS, self._changed
        )

    async def _changed(self, conn: Connection, event: CloudEvent, payload: AgreementEvent) -> None:
        await self._shared_change(conn, event, payload)
        if self.also is not None:
            await self.also(conn, event, payload)

    async def _shared_change(
        self, conn: Connection, event: CloudEvent, payload: AgreementEvent
    ) -> None:
        match payload.copy_change():
            case TermsStand() as stand:
                await self.write_terms(conn, event, stand)
            case StatusMoves(status, of_revision):
                await conn.execute(
                    f"""UPDATE {self.table}
                        SET status = CASE WHEN $3::text IS NOT NULL
                                           AND ($4::integer IS NULL OR revision = $4)
                                          THEN $3::text ELSE status END,
                            version = $2, updated_at = $5
                        WHERE agreement_id = $1 AND version < $2""",
                    event.subject,
                    event.version,
                    status.value if status is not None else None,
                    of_revision,
                    event.time,
                )
