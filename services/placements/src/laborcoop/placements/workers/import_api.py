"""The bulk import route, ``POST /v1/workers:import``: NDJSON read as a stream
(:mod:`laborcoop.placements.workers.importing`).

The route takes no body parameter: it reads ``request.stream()`` itself, so the JSON-only rule of
``JsonRoute`` (415 for anything but JSON) does not apply to it, and it is marked
:func:`~laborcoop.common.inputs.streams_its_body`, so the app's body limit does not either; it
checks the media type and bounds what it reads itself (lines, and bytes a line).
"""

from typing import Any, Final

from fastapi import APIRouter, Depends, Request

from laborcoop.common.auth import CurrentPrincipal
from laborcoop.common.deps import DbPool, state_of
from laborcoop.common.errors import (
    Forbidden,
    PayloadTooLarge,
    UnsupportedMediaType,
    problem_responses,
)
from laborcoop.common.inputs import ApiModel, streams_its_body
from laborcoop.contracts.identifiers import RESIDENT_ID_EXAMPLE
from laborcoop.placements.settings import PlacementsSettings
from laborcoop.placements.workers.api import Use
from laborcoop.placements.workers.domain import registering_province
from laborcoop.placements.workers.importing import (
    LISTED_REJECTIONS,
    MAX_LINE_BYTES,
    NDJSON,
    Importer,
    ImportReport,
)

router = APIRouter(tags=["workers"])


class RejectionOut(ApiModel):
    line: int
    field: str | None
    reason: str
    code: str


class ImportReportOut(ApiModel):
    """What the import did. ``lines`` = ``accepted`` + ``duplicates`` + ``rejected``."""

    lines: int
    accepted: int
    duplicates: int
    rejected: int
    rejections: list[RejectionOut]

    @classmethod
    def of(cls, report: ImportReport) -> "ImportReportOut":
        return cls(
            lines=report.lines,
            accepted=report.accepted,
            duplicates=report.duplicates,
            rejected=report.rejected,
            rejections=[RejectionOut(**vars(r)) for r in report.rejections],
        )


_EXAMPLE: Final = (
    f'{{"name": "张三", "resident_id": "{RESIDENT_ID_EXAMPLE}", "phone": "13800138000", '
    '"education": "junior_secondary", "occupations": ["4-10-01-01"]}\n'
)

# Each line is checked on its own and a bad one is reported in the 200, not refused: so the body
# as a whole has no schema it could violate (the lines' is `WorkerCreate`, named in words).
_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "description": "One `WorkerCreate` (a JSON object, as `POST /v1/workers` takes it) a "
        "line, UTF-8, lines ending with `\\n`; blank lines are skipped. A line that is not a "
        "valid `WorkerCreate` is reported as rejected in the answer, not refused.",
        "content": {NDJSON: {"schema": {}, "example": _EXAMPLE}},
    }
}


def _is_ndjson(content_type: str | None) -> bool:
    return (content_type or "").split(";", 1)[0].strip().lower() == NDJSON


def _not_ndjson() -> UnsupportedMediaType:
    problem = UnsupportedMediaType(f"send the workers as {NDJSON}: one JSON object a line")
    problem.headers["Accept-Post"] = NDJSON
    return problem


def _settings(request: Request) -> PlacementsSettings:
    settings = state_of(request.app).settings
    assert isinstance(settings, PlacementsSettings)
    return settings


@router.post(
    "/v1/workers:import",
    response_model=ImportReportOut,
    summary="Import workers of your province (NDJSON)",
    description="Registers many workers at once, your province as their origin: the body is "
    f"NDJSON ({NDJSON}), one worker a line, each line checked as `POST /v1/workers` checks "
    "its body (the ID number's county in your province, a brand of your province). The body "
    "is read as a stream and the good lines are stored in batches, each batch committed on its "
    "own with the `worker.registered` events of its workers. A person already registered "
    "(before, or earlier in the file) is counted as a duplicate and gets no event, so sending "
    "the same file again stores and publishes nothing twice: no `Idempotency-Key` is needed. "
    "The answer is 200 with a report: lines read, accepted, duplicates, and the rejected lines "
    f"(the first {LISTED_REJECTIONS} field errors listed by line number and JSON field, never "
    f"the value sent); an empty body imports nothing. A line longer than {MAX_LINE_BYTES} bytes "
    "is rejected. Up to the service's `import_max_lines` lines a request: past it the answer is "
    "413, after the lines up to the limit were imported (the 413 carries their `report`); "
    "send the rest apart.",
    responses=problem_responses(Forbidden, PayloadTooLarge, UnsupportedMediaType),
    openapi_extra=_BODY,
    dependencies=[Depends(streams_its_body)],
)
async def import_workers(
    request: Request, principal: CurrentPrincipal, pool: DbPool, use: Use
) -> ImportReportOut:
    registering_province(principal)
    if not _is_ndjson(request.headers.get("content-type")):
        raise _not_ndjson()
    settings = _settings(request)
    importer = Importer(use, settings, pool)
    report = await importer.run(request.stream(), principal, max_lines=settings.import_max_lines)
    return ImportReportOut.of(report)
