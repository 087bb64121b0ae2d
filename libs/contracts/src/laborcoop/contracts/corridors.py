"""Corridors and the ones an agreement's terms name: one rule for every reader of agreements.

A corridor is an ordered pair of distinct provinces, origin (sending) → destination
(receiving), written ``"origin>destination"`` (:func:`corridor`). An agreement's terms name
(:func:`corridors_of`):

- every target's ``(origin, destination)``;
- every pair of distinct parties where the first sends (role ``sending`` or ``both``) and the
  second receives (``receiving`` or ``both``).

An agreement **covers** the corridors its terms in force name while its status is ``active``
(:data:`COVERING`): drafts, proposals, signed agreements not yet started, expired and terminated
ones cover nothing, and an amendment under signature changes nothing until every party signed
it (its ``amended`` event). The placements service counts placements against the agreement
covering their corridor and matches along covered corridors; the gateway shows, for each
corridor, the agreements covering it. Both read it here, so they cannot disagree.
"""

from typing import Final

from laborcoop.contracts.agreements import Terms
from laborcoop.contracts.codes import AgreementStatus, PartyRole

COVERING: Final = AgreementStatus.ACTIVE
"""The one status in which an agreement covers its corridors."""

_SENDS: Final = frozenset({PartyRole.SENDING, PartyRole.BOTH})
_RECEIVES: Final = frozenset({PartyRole.RECEIVING, PartyRole.BOTH})


def corridor(origin: str, destination: str) -> str:
    """The corridor ``origin → destination`` as stored and matched: ``"origin>destination"``."""
    return f"{origin}>{destination}"


def corridors_of(terms: Terms) -> list[str]:
    """The corridors ``terms`` name: the targets' and every sending → receiving pair of distinct
    parties (sorted, each once)."""
    pairs = {(t.origin, t.destination) for t in terms.targets}
    senders = [p.province for p in terms.parties if p.role in _SENDS]
    receivers = [p.province for p in terms.parties if p.role in _RECEIVES]
    pairs |= {(s, r) for s in senders for r in receivers if s != r}
    return sorted(
        corridor(origin, destination) for origin, destination in pairs if origin != destination
    )
