"""Every metric of ours that a scrape can show is in the metrics tables of docs/operations.md."""

import re
from pathlib import Path

from prometheus_client import REGISTRY

import laborcoop.common.metrics  # registers every service's metrics
import laborcoop.gateway.metrics  # noqa: F401 - registers the gateway's

OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def documented() -> set[str]:
    """The metric names in the first column of the document's tables."""
    return set(re.findall(r"^\| `(laborcoop_[a-z_]+)` \|", OPERATIONS.read_text(), re.MULTILINE))


def defined() -> set[str]:
    """The names of our metric families (a counter's with ``_total``, as a scrape shows it)."""
    return {
        family.name + ("_total" if family.type == "counter" else "")
        for family in REGISTRY.collect()
        if family.name.startswith("laborcoop_")
    }


def test_every_metric_is_documented_and_every_documented_one_exists() -> None:
    assert defined() - documented() == set(), "metrics missing from docs/operations.md"
    assert documented() - defined() == set(), "docs/operations.md names metrics that do not exist"
