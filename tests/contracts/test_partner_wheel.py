"""libs/contracts builds as a wheel that a partner installs on its own, and the examples need
nothing of laborcoop but that wheel.

The wheel is built with uv and installed, with its dependencies, into a fresh virtual environment
without the workspace; the versions are pinned to this environment's (from uv.lock), so uv takes
them from its cache. Building and installing take a few seconds.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from laborcoop.contracts.schemas import generate

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
# What the examples use besides the wheel (their READMEs say so too).
EXAMPLE_CLIENTS = ("aiokafka", "standardwebhooks")


def uv() -> list[str]:
    """uv itself: `uv run` says where it is in $UV; else the one on PATH or python3's module."""
    found = os.environ.get("UV") or shutil.which("uv")
    python3 = shutil.which("python3")
    if found:
        return [found]
    assert python3 is not None
    return [python3, "-m", "uv"]


def run(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(  # noqa: S603 - fixed tools with arguments of our making
        list(command), capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}{result.stderr}"
    return result


@dataclass(frozen=True)
class PartnerEnv:
    wheel: Path
    python: Path

    def run(self, source: str) -> subprocess.CompletedProcess[str]:
        """``source`` run by the partner's Python, outside the repository."""
        clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        return subprocess.run(  # noqa: S603 - the fresh venv's python, our own source
            [str(self.python), "-c", textwrap.dedent(source)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=self.python.parents[2],
            env=clean,
        )


def pins() -> list[str]:
    """name==version of this environment's third-party packages (the workspace's are left out)."""
    frozen = run([*uv(), "pip", "freeze", "--python", sys.executable]).stdout.splitlines()
    return [line for line in frozen if "==" in line and not line.startswith("laborcoop")]


@pytest.fixture(scope="module")
def partner(tmp_path_factory: pytest.TempPathFactory) -> PartnerEnv:
    place = tmp_path_factory.mktemp("partner")
    run([*uv(), "build", "--wheel", "--quiet", str(ROOT / "libs" / "contracts"), "-o", str(place)])
    (wheel,) = place.glob("laborcoop_contracts-*.whl")
    constraints = place / "constraints.txt"
    constraints.write_text("\n".join(pins()) + "\n", encoding="utf-8")
    venv = place / "venv"
    run([*uv(), "venv", "--quiet", "--python", sys.executable, str(venv)])
    python = venv / "bin" / "python"
    install = [*uv(), "pip", "install", "--quiet", "--python", str(python)]
    run([*install, "-c", str(constraints), str(wheel), *EXAMPLE_CLIENTS])
    return PartnerEnv(wheel=wheel, python=python)


def test_the_wheel_carries_the_typed_package_and_depends_on_pydantic_only(
    partner: PartnerEnv,
) -> None:
    result = partner.run(
        """
        import json
        from importlib.metadata import distribution, files
        dist = distribution("laborcoop-contracts")
        names = sorted(str(f) for f in files("laborcoop-contracts"))
        print(json.dumps({"requires": dist.requires, "files": names}))
        """
    )
    assert result.returncode == 0, result.stderr
    metadata = json.loads(result.stdout)
    assert [r.split(">")[0].split("=")[0].strip() for r in metadata["requires"]] == ["pydantic"]
    assert "laborcoop/contracts/py.typed" in metadata["files"]
    assert "laborcoop/contracts/compatibility.py" in metadata["files"]
    assert not any(name.startswith("laborcoop/common") for name in metadata["files"])


def test_a_partner_validates_an_event_with_the_wheel_alone(partner: PartnerEnv) -> None:
    result = partner.run(
        """
        import importlib.util, json, uuid
        from laborcoop.contracts import CloudEvent, decode, new_event, spec_for
        from laborcoop.contracts.brands import BrandRegistered
        from laborcoop.contracts.codes import BrandCategory
        import laborcoop.contracts
        from pydantic import ValidationError

        brand = uuid.uuid4()
        raw = new_event(
            BrandRegistered(brand_id=brand, name="湘西苗绣", province="430000",
                            category=BrandCategory.INTANGIBLE_HERITAGE),
            subject=str(brand), version=1, provinces=["430000"],
        ).to_json_bytes()
        event = CloudEvent.from_json_bytes(raw)
        payload = decode(event)
        broken = json.loads(raw)
        broken["data"]["category"] = "no such category"
        try:
            decode(CloudEvent.model_validate(broken))
            refused = False
        except ValidationError:
            refused = True
        print(json.dumps({
            "payload": type(payload).__name__,
            "name": payload.name,
            "known": spec_for(event.type) is not None,
            "refused": refused,
            "runtime": importlib.util.find_spec("laborcoop.common") is not None,
            "where": laborcoop.contracts.__file__,
        }, ensure_ascii=False))
        """
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["payload"] == "BrandRegistered"
    assert outcome["name"] == "湘西苗绣"
    assert outcome["known"] is True
    assert outcome["refused"] is True
    assert outcome["runtime"] is False
    assert str(partner.python.parents[1]) in outcome["where"]  # the wheel, not the workspace


@pytest.mark.parametrize("example", ["kafka_consumer/consumer.py", "webhook_receiver/receiver.py"])
def test_the_examples_need_only_the_wheel_and_their_clients(
    partner: PartnerEnv, example: str
) -> None:
    """Each example loads (its imports run, its main does not) where laborcoop is only the wheel."""
    result = partner.run(
        f"""
        import runpy, sys
        runpy.run_path({str(EXAMPLES / example)!r}, run_name="loaded_by_the_test")
        print(sorted(m for m in sys.modules if m.startswith("laborcoop")))
        """
    )
    assert result.returncode == 0, result.stderr
    assert "laborcoop.contracts" in result.stdout
    assert "laborcoop.common" not in result.stdout


def test_a_partner_generates_the_schemas_from_the_wheel(
    partner: PartnerEnv, tmp_path: Path
) -> None:
    """The wheel carries the generator: a partner gets docs/events/ from the installed models."""
    result = partner.run(
        f"""
        import sys
        from laborcoop.contracts.schemas import main
        sys.exit(main([{str(tmp_path)!r}]))
        """
    )
    assert result.returncode == 0, result.stderr
    assert {p.name: p.read_text(encoding="utf-8") for p in tmp_path.glob("*.json")} == generate()
