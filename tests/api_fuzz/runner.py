"""Schemathesis run programmatically: every phase and every check, the way ``schemathesis run``
does it, with a fixed seed and bounded example counts so that CI is reproducible and quick."""

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from schemathesis.engine import Status, from_schema
from schemathesis.engine import events as st_events
from schemathesis.engine.recorder import ScenarioRecorder


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx: schemathesis.SerializationContext, value: Any) -> bytes:
    """Newline-delimited JSON (a bulk import): each item of an array on a line of its own."""
    items = value if isinstance(value, list) else [value]
    return b"".join(json.dumps(item, ensure_ascii=False).encode() + b"\n" for item in items)


SEED = 20240611
MAX_EXAMPLES = 10
MAX_STEPS = 10


@dataclass(frozen=True)
class Finding:
    """One failed check: which operation, what request, what answer."""

    phase: str
    operation: str
    check: str
    title: str
    message: str
    request: str
    status: int | None
    body: str

    def __str__(self) -> str:
        return (
            f"[{self.phase}] {self.operation}: {self.check}: {self.title}\n"
            f"  {self.message.strip()}\n  request: {self.request}\n"
            f"  response: {self.status} {self.body[:400]}"
        )


@dataclass(frozen=True)
class Allowed:
    """A deliberate exception: ``check`` may fail when the answer is ``status`` and every field
    error of the problem document matches ``field`` (a regular expression) and ``message``."""

    check: str
    status: int
    field: str
    reason: str
    message: str = ""

    def allows(self, finding: Finding, field: str, message: str) -> bool:
        """Whether this exception covers one field error of ``finding``."""
        return (
            (finding.check, finding.status) == (self.check, self.status)
            and re.fullmatch(self.field, field) is not None
            and self.message in message
        )


def allowed(finding: Finding, exceptions: tuple[Allowed, ...]) -> bool:
    """A finding is deliberate when every field error of its problem document is covered by
    one of the exceptions (a request may break several documented rules at once)."""
    errors = _field_errors(finding.body)
    return bool(errors) and all(
        any(e.allows(finding, field, message) for e in exceptions) for field, message in errors
    )


def _field_errors(body: str) -> list[tuple[str, str]]:
    try:
        document = json.loads(body)
    except ValueError:
        return []
    errors = document.get("errors") if isinstance(document, dict) else None
    if not isinstance(errors, list):
        return []
    return [(str(e.get("field")), str(e.get("message"))) for e in errors if isinstance(e, dict)]


@dataclass
class Report:
    """What one run did and found."""

    requests: int = 0
    scenarios: int = 0
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    running_time: float = 0.0
    phases: Counter[str] = field(default_factory=Counter)
    operations: set[str] = field(default_factory=set)
    """The operations a scenario called (``METHOD /path``)."""

    def failures(self, exceptions: tuple[Allowed, ...] = ()) -> list[Finding]:
        """Findings other than the documented exceptions."""
        return [f for f in self.findings if not allowed(f, exceptions)]

    def describe(self, findings: list[Finding] | None = None) -> str:
        shown = self.findings if findings is None else findings
        unique = list(dict.fromkeys(str(f) for f in shown))
        return "\n\n".join([*unique, *self.errors])


def config(
    headers: dict[str, str],
    *,
    max_examples: int = MAX_EXAMPLES,
    operations: list[dict[str, Any]] | None = None,
) -> schemathesis.Config:
    """All phases, all checks (the default), deterministic data, every failure reported;
    ``operations`` are schemathesis's per-operation overrides (a filter and what it changes)."""
    return schemathesis.Config.from_dict(
        {
            "operations": operations or [],
            "seed": SEED,
            "headers": headers,
            "workers": 1,
            "continue-on-failure": True,
            "generation": {"max-examples": max_examples, "deterministic": True, "mode": "all"},
            "checks": {
                "enabled": True,
                # A required If-Match that is missing is a 428 (RFC 6585), as documented.
                "missing_required_header": {
                    "expected-statuses": ["400", "401", "403", "406", "415", "422", "428"]
                },
                # A well-formed If-Match naming another version is a 412: the server's state, not
                # the request's shape (the document lists 412 for every such route).
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "412", "429"]
                },
            },
            "phases": {"stateful": {"max-steps": MAX_STEPS}},
            "warnings": False,
        }
    )


def run(openapi_url: str, headers: dict[str, str], **options: Any) -> Report:
    """Run schemathesis against the service that serves ``openapi_url``."""
    schema = schemathesis.openapi.from_url(openapi_url, config=config(headers, **options))
    report = Report()
    for event in from_schema(schema).execute():
        if isinstance(event, st_events.ScenarioFinished):
            _record(report, event)
        elif isinstance(event, st_events.NonFatalError):
            report.errors.append(f"{event.label}: {event.info.title}: {event.info.message}")
        elif isinstance(event, st_events.FatalError):
            report.errors.append(f"fatal: {event.exception!r}")
        elif isinstance(event, st_events.EngineFinished):
            report.running_time = event.running_time
    return report


def _record(report: Report, event: st_events.ScenarioFinished) -> None:
    recorder: ScenarioRecorder = event.recorder
    report.scenarios += 1
    report.requests += len(recorder.interactions)
    report.phases[event.phase.value] += len(recorder.interactions)
    if recorder.interactions:
        report.operations.add(recorder.label)
    for case_id, checks in recorder.checks.items():
        for check in checks:
            if check.status != Status.FAILURE or check.failure_info is None:
                continue
            interaction = recorder.interactions.get(case_id)
            response = interaction.response if interaction else None
            failure = check.failure_info.failure
            report.findings.append(
                Finding(
                    phase=event.phase.value,
                    operation=failure.operation or recorder.label,
                    check=check.name,
                    title=failure.title,
                    message=failure.message,
                    request=check.failure_info.code_sample,
                    status=response.status_code if response else None,
                    body=response.text if response else "",
                )
            )
