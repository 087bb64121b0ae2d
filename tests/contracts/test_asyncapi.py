"""The AsyncAPI document is valid for the AsyncAPI project's own parser (@asyncapi/parser, npm).

``make bootstrap`` installs the parser into tools/asyncapi-check/node_modules from its lock. The
test validates what the generator writes now (the committed copy must equal it,
libs/contracts/tests/test_published_schemas.py), and shows that the validator does fail.
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from laborcoop.contracts.schemas import ASYNCAPI_FILE, generate

CHECK = Path(__file__).resolve().parents[2] / "tools" / "asyncapi-check"


def validate(document: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    assert node is not None, "Node.js is needed: the AsyncAPI parser is a Node package"
    assert (CHECK / "node_modules" / "@asyncapi" / "parser").is_dir(), (
        "the AsyncAPI parser is not installed: run `make bootstrap`"
    )
    return subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [node, str(CHECK / "validate.mjs"), str(document)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def generated(tmp_path: Path) -> Path:
    """docs/events/ as the generator writes it now, in a temporary directory."""
    for name, content in generate().items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    return tmp_path


def test_the_generated_asyncapi_document_is_valid(generated: Path) -> None:
    result = validate(generated / ASYNCAPI_FILE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid AsyncAPI 3.0.0" in result.stdout


def test_the_document_describes_kafka_the_webhook_and_the_stream(generated: Path) -> None:
    document = json.loads((generated / ASYNCAPI_FILE).read_text(encoding="utf-8"))
    assert {"kafka", "gateway", "partner"} <= set(document["servers"])
    webhook = document["operations"]["deliver_webhook"]
    assert webhook["bindings"]["http"]["method"] == "POST"
    headers = document["components"]["schemas"]["WebhookHeaders"]
    assert set(headers["required"]) == {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "content-type",
    }
    assert document["channels"]["event_stream"]["address"] == "/v1/events/stream"
    assert set(document["components"]["schemas"]["StreamQuery"]["properties"]) == {
        "types",
        "provinces",
        "since",
    }


def test_the_validator_fails_on_errors_and_names_them(generated: Path) -> None:
    document = json.loads((generated / ASYNCAPI_FILE).read_text(encoding="utf-8"))
    document["operations"]["deliver_webhook"]["action"] = "deliver"
    (generated / ASYNCAPI_FILE).write_text(json.dumps(document), encoding="utf-8")
    (generated / "cn.laborcoop.registry.brand.retired.v1.json").unlink()

    result = validate(generated / ASYNCAPI_FILE)

    assert result.returncode == 1
    assert "error" in result.stdout
    assert "operations.deliver_webhook.action" in result.stdout
    assert "cn.laborcoop.registry.brand.retired.v1.json" in result.stdout  # an unresolved $ref
