"""Checkov over what an operator applies (the rendered overlays) and the Dockerfile reports
nothing that is not explained, check by check, in deploy/checks/checkov-skips.yaml.

Checkov comes from PyPI in a tool environment of its own (`uv tool run`, every dependency pinned
by deploy/checks/checkov-requirements.txt), so it never enters the services' uv.lock; it runs
with --skip-download and BC_SKIP_MAPPING, so it asks no service but PyPI for anything."""

import json
import os
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from tests.deploy.manifests import CHECKS, DOCKERFILE, OVERLAYS, rendered, tool

CHECKOV = "checkov==3.3.30"
SKIPS = CHECKS / "checkov-skips.yaml"
FRAMEWORKS = ("kubernetes", "dockerfile")


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, set[str]]]:
    """Failed checks: check id → framework → the resources that failed it."""
    folder = tmp_path_factory.mktemp("checkov")
    for overlay in OVERLAYS:
        (folder / f"{overlay}.yaml").write_text(rendered(overlay), encoding="utf-8")
    shutil.copy(DOCKERFILE, folder / "Dockerfile")
    command = tool(
        CHECKOV,
        "checkov",
        "--directory",
        str(folder),
        "--framework",
        *FRAMEWORKS,
        "--skip-download",
        "--compact",
        "--quiet",
        "--output",
        "json",
        constraints=CHECKS / "checkov-requirements.txt",
    )
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    result = subprocess.run(  # noqa: S603 - a fixed command
        command, capture_output=True, text=True, check=False, timeout=600, env=env
    )
    assert result.returncode in (0, 1), f"checkov failed to run: {result.stderr[-3000:]}"
    reports: Any = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    assert sorted(r["check_type"] for r in reports) == sorted(FRAMEWORKS), result.stdout[:2000]
    failed: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for report in reports:
        assert report["summary"]["parsing_errors"] == 0, report["summary"]
        assert report["summary"]["resource_count"] > 0, report["check_type"]
        for check in report["results"]["failed_checks"]:
            place = f"{Path(check['file_path']).name}: {check['resource']}"
            failed[check["check_id"]][report["check_type"]].add(place)
    return failed


def _skips() -> dict[str, Any]:
    skips = yaml.safe_load(SKIPS.read_text(encoding="utf-8"))
    assert isinstance(skips, dict)
    for check, entry in skips.items():
        assert set(entry) == {"name", "frameworks", "reason"}, check
        assert len(entry["reason"]) > 80, f"{check}: say why, for an auditor"
    return skips


def test_every_failed_check_is_explained(findings: dict[str, dict[str, set[str]]]) -> None:
    skips = _skips()
    unexplained = {
        f"{check} ({framework}): {sorted(places)[:3]}"
        for check, by_framework in findings.items()
        for framework, places in by_framework.items()
        if framework not in skips.get(check, {}).get("frameworks", [])
    }
    assert not unexplained, "\n".join(sorted(unexplained))


def test_every_explanation_is_still_needed(findings: dict[str, dict[str, set[str]]]) -> None:
    stale = {check for check in _skips() if check not in findings}
    assert not stale, f"no longer failing, delete from {SKIPS.name}: {sorted(stale)}"
