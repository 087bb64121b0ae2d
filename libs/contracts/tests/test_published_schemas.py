"""The committed docs/events/ are the published contract: the models may only change it compatibly,
and the committed files must equal what the models generate, so every change is reviewed.

The two tests answer a model change in this order: an incompatible one fails the first with the
checker's report naming each field (and ``make schemas`` refuses to publish it); a compatible one
passes the first and fails the second, which asks for ``make schemas`` and a review of the diff.
"""

from pathlib import Path

from laborcoop.contracts.compatibility import check, report
from laborcoop.contracts.schemas import contract_schemas, generate, published_schemas

EVENTS_DOCS = Path(__file__).resolve().parents[3] / "docs" / "events"


def test_models_stay_compatible_with_the_published_schemas() -> None:
    incompatible = check(published_schemas(EVENTS_DOCS), contract_schemas())
    assert not incompatible, report(incompatible)


def test_committed_schemas_match_the_models() -> None:
    incompatible = check(published_schemas(EVENTS_DOCS), contract_schemas())
    assert not incompatible, (
        "the models break the published contract (see "
        "test_models_stay_compatible_with_the_published_schemas); `make schemas` refuses it"
    )
    generated = generate()
    committed = {p.name: p.read_text(encoding="utf-8") for p in EVENTS_DOCS.glob("*.json")}
    advice = "a compatible contract change: run `make schemas` and review the diff of docs/events/"
    assert sorted(committed) == sorted(generated), advice
    for name, content in generated.items():
        assert committed[name] == content, f"{name} differs from the models; {advice}"
