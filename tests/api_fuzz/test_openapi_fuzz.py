"""Schemathesis over every service's OpenAPI document: what a client generated from the document
sends must be accepted, what it must not send must be refused, and every answer must be the one
the document describes. All phases (examples, coverage, fuzzing, stateful) and all checks, with a
fixed seed; the only failures allowed are the deliberate exceptions below, each with its reason."""

from typing import Any

import pytest

from laborcoop.gateway.openapi import OWNER_EXTENSION, forwarded_document, operations
from laborcoop.testing import Tokens
from tests.api_fuzz import runner
from tests.api_fuzz.conftest import FuzzedSystem, Served

HUNAN = "430000"

_ACCEPTS = "positive_data_acceptance"

EXCEPTIONS = (
    runner.Allowed(
        _ACCEPTS,
        422,
        field="cursor",
        reason="A cursor is opaque: only a `next_cursor` this API issued is accepted, and no "
        "schema can enumerate those; any other string is rightly a 422 naming `cursor`.",
    ),
    runner.Allowed(
        _ACCEPTS,
        422,
        field="Idempotency-Key",
        message="already used for a different request",
        reason="Schemathesis sends one Idempotency-Key with different requests; reusing a key "
        "for another request is a 422 by design (draft-ietf-httpapi-idempotency-key-header), "
        "a state of the server that no schema of the header can express.",
    ),
    runner.Allowed(
        _ACCEPTS,
        422,
        field=r"(?:.*\.)?(?:\w+_yuan|practitioners|jobs_created|people_trained|"
        r"workers_transferred|job_postings|wage_min|wage_max|headcount|year|level)",
        message="must be a whole number",
        reason="JSON Schema counts 15000.0 as an integer; the services refuse decimals where a "
        "whole number is meant (WholeNumber), which no schema keyword can say.",
    ),
    runner.Allowed(
        _ACCEPTS,
        422,
        field=r"initiator|parties|targets\.\d+(?:\.origin|\.destination)?|linked_brands\.\d+",
        reason="Terms relate items to each other, to the caller and to the register: the "
        "initiator (the caller's province) must be a party, a province is a party once, a "
        "target's ends are two different parties, a linked brand must be registered. JSON "
        "Schema cannot relate array items or see the token; the 422 names the field.",
    ),
    runner.Allowed(
        _ACCEPTS,
        422,
        field="city_code",
        message="is not a city or county of",
        reason="A brand's city or county code must lie in its province (same first two digits, "
        "not the province's own code). On PATCH the province is the stored brand's, which no "
        "schema of the body can know; the 422 names `city_code`.",
    ),
    runner.Allowed(
        _ACCEPTS,
        422,
        field=r"resident_id|employer_credit_code",
        reason="An ID number's 18th character is an ISO 7064 MOD 11-2 check over the first 17, "
        "its digits 7-14 a real birth date, its first two a province, and its county must lie "
        "in the registering province; a credit code's 18th character is a GB 32100 check. A "
        "pattern can state the shape (it does) but not a checksum or a calendar; the 422 names "
        "the field without echoing the value.",
    ),
    runner.Allowed(
        _ACCEPTS,
        422,
        field=r"start_date|open_until|until|end_date|on|city_code|brand_id|outside_agreement|"
        r"agreement_id|wage_max",
        reason="Labour-exchange rules relate a field to today, to the caller or to other data: a "
        "demand starts today or later, a consent or a demand's window is not already past, a "
        "date recorded is not in the future, a work location lies in the posting province, a "
        "worker's brand is a registered brand of its province, a corridor without an active "
        "agreement needs `outside_agreement`. No schema sees the clock, the token or the "
        "register, and a patch's wage bound is compared with the stored other bound; the 422 "
        "names the field.",
    ),
    runner.Allowed(
        _ACCEPTS,
        422,
        field=r"reason|note|follow_up_note",
        message="must not contain an ID number",
        reason="Reasons and notes are published in events and histories, so a run of 11 or "
        "more digits (an ID or phone number) is refused. The text patterns are written for "
        "Python, ECMAScript and Rust alike, and Rust's engine has no lookahead to say it.",
    ),
    runner.Allowed(
        _ACCEPTS,
        422,
        field="province",
        message="the origin province keeps the record already",
        reason="Consent shares a worker's record with another province; naming the worker's "
        "own province (the caller's, known only from its token) is a 422 naming `province`.",
    ),
    runner.Allowed(
        _ACCEPTS,
        422,
        field="body",
        message="Extra inputs are not permitted",
        reason="In its fuzzing and stateful phases schemathesis 4 adds a top-level property "
        "named `body` to the PATCH /v1/workers/{worker_id} body (its merging of generated "
        "parts; our document declares no such property and `additionalProperties: false`, and "
        "the strategy of the operation alone never generates it). An unknown field is rightly "
        "a 422; the finding names only `body`.",
    ),
    runner.Allowed(
        _ACCEPTS,
        422,
        field="If-Match",
        reason="The header is documented with the pattern of `*` or an entity-tag list, but "
        "schemathesis's coverage phase still sends values outside it (e.g. `If-Match: 0`) as "
        "schema-valid; such a value is rightly a 422 naming If-Match.",
    ),
    runner.Allowed(
        _ACCEPTS,
        422,
        field=r"types|provinces|Last-Event-ID|after_event_id",
        reason="Event types, province codes and event ids are checked against what exists: "
        "the published event types, GB/T 2260 provinces, and the events of the gateway's log "
        "this caller may have received. A schema can give their form, not the set; a "
        "well-formed value outside it is rightly a 422 naming the field.",
    ),
    runner.Allowed(
        _ACCEPTS,
        422,
        field="url",
        reason="A webhook target must resolve to a public address (https) or be one of the "
        "hosts allowed plain http for development; the test machine resolves no public name, "
        "and no schema can say which names resolve. The refusal is a 422 naming `url`.",
    ),
)


FORWARDED_EXAMPLES = 3
"""Generated examples per forwarded operation in the gateway's run (the phases that generate
them: examples, fuzzing). The owners' own runs generate ``runner.MAX_EXAMPLES`` of each; through
the gateway, what is tested is that the document of the whole API holds for what reaches the
owner through the relay — token, parameters, bodies, the owner's answers relayed, the gateway's
own answers — which a few examples per operation show, with the coverage phase (each operation's
boundary and invalid values) and the stateful phase run in full."""


def forwarded_overrides() -> list[dict[str, Any]]:
    """schemathesis's per-operation overrides of the forwarded operations, selected by the owner
    that the gateway's document names on each (``x-laborcoop-owner``)."""
    owners = sorted({op[OWNER_EXTENSION] for _, _, op in operations(forwarded_document())})
    return [
        {
            "include-by": f'/{OWNER_EXTENSION} == "{owner}"',
            "generation": {"max-examples": FORWARDED_EXAMPLES},
            "phases": {"coverage": {"enabled": False}},
        }
        for owner in owners
    ]


def _run(service: Served, headers: dict[str, str]) -> runner.Report:
    overrides = forwarded_overrides() if service.name == "gateway" else []
    report = runner.run(f"{service.url}/openapi.json", headers, operations=overrides)
    print(
        f"{service.name}: {report.requests} requests, {report.scenarios} scenarios, "
        f"{report.running_time:.1f} s, by phase {dict(report.phases)}"
    )
    return report


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", ["registry", "agreements", "gateway", "placements"])
def test_schemathesis_finds_nothing(fuzzed: FuzzedSystem, tokens: Tokens, name: str) -> None:
    service: Served = getattr(fuzzed, name)
    report = _run(service, tokens.province(HUNAN))
    assert report.requests > 0
    if name == "gateway":  # the whole public API, the forwarded operations through the relay
        forwarded = {f"{m.upper()} {p}" for p, m, _ in operations(forwarded_document())}
        assert not forwarded - report.operations, "forwarded operations never called"
    failures = report.failures(EXCEPTIONS)
    assert not failures, report.describe(failures)
    assert not report.errors, report.describe([])
