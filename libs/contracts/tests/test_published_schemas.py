"""The committed docs/events/ must equal what the models generate: contract changes are reviewed."""

from pathlib import Path

from laborcoop.contracts.schemas import generate

EVENTS_DOCS = Path(__file__).resolve().parents[3] / "docs" / "events"


def test_committed_schemas_match_the_models() -> None:
    generated = generate()
    committed = {p.name: p.read_text(encoding="utf-8") for p in EVENTS_DOCS.glob("*.json")}
    assert sorted(committed) == sorted(generated), "run: make schemas"
    for name, content in generated.items():
        assert committed[name] == content, f"{name} differs from the models; run: make schemas"
