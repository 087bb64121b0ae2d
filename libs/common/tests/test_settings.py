"""Settings: where each value comes from, and the documented tables that describe them.

The two traps fixed here: ``LABORCOOP_SERVICE_NAME`` must not rename every service, and a
test's explicit ``database_url=`` must beat the environment's per-service database.
"""

import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field, SecretStr

from laborcoop.common import settings_doc
from laborcoop.common.settings import ServiceSettings

OPERATIONS = Path(__file__).resolve().parents[3] / "docs" / "operations.md"
SERVICES = settings_doc.service_classes()


class Registry(ServiceSettings):
    """A service as the real ones are declared, without importing a service from libs/common."""

    service_name: str = "registry"


@pytest.fixture(autouse=True)
def no_database_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test states the variables it means; a developer's shell must not leak in."""
    for name in list(os.environ):
        if name.startswith("LABORCOOP_") and name.endswith("DATABASE_URL"):
            monkeypatch.delenv(name)
    monkeypatch.delenv("LABORCOOP_SERVICE_NAME", raising=False)


def url(settings: ServiceSettings) -> str:
    return settings.database_url.get_secret_value()


# --- the documentation ------------------------------------------------------------------------


def test_committed_settings_tables_match_the_classes() -> None:
    committed = settings_doc.committed_block(OPERATIONS.read_text(encoding="utf-8"))
    assert committed == settings_doc.render(), (
        f"the settings tables of docs/operations.md differ from the settings classes; "
        f"run: {settings_doc.COMMAND}"
    )


def test_every_service_is_found_and_named_by_its_class() -> None:
    names = [cls.model_fields["service_name"].default for cls in SERVICES]
    assert sorted(names) == ["agreements", "gateway", "placements", "registry"]


def test_the_generator_rewrites_only_the_block(tmp_path: Path) -> None:
    document = tmp_path / "operations.md"
    before = f"# Ops\n\n{settings_doc.BEGIN}\nstale\n{settings_doc.END}\n\n## Next\n"
    document.write_text(before, encoding="utf-8")

    settings_doc.main([str(document)])

    written = document.read_text(encoding="utf-8")
    assert written.startswith(f"# Ops\n\n{settings_doc.BEGIN}\n")
    assert written.endswith(f"{settings_doc.END}\n\n## Next\n")
    assert settings_doc.committed_block(written) == settings_doc.render()
    settings_doc.main([str(document)])
    assert document.read_text(encoding="utf-8") == written


def test_a_document_without_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="settings:begin"):
        settings_doc.replace_block("# Ops\n", "table")


def test_a_secret_default_is_shown_only_when_declared_public() -> None:
    class WithSecret(Registry):
        api_key: SecretStr = Field(default=SecretStr("s3cret"), description="A key.")

    row = settings_doc.field_row(WithSecret, "api_key")
    assert "s3cret" not in row
    assert "*(secret)*" in row
    development = settings_doc.field_row(ServiceSettings, "database_url")
    assert "laborcoop:laborcoop@" in development
    assert "refused in production" in development


def test_bounds_and_cells_come_from_the_field() -> None:
    class Bounded(Registry):
        window_s: float = Field(default=5, gt=0, le=60, description="A | B\n  wrapped.")

    row = settings_doc.field_row(Bounded, "window_s")
    assert row == "| `LABORCOOP_WINDOW_S` | `5` | A \\| B wrapped. Range: > 0, ≤ 60. |"


def test_a_field_without_description_fails_the_generation() -> None:
    class Undocumented(Registry):
        mystery: int = 1

    with pytest.raises(ValueError, match=r"Undocumented\.mystery has no description"):
        settings_doc.field_row(Undocumented, "mystery")


# --- trap 1: the service's name ---------------------------------------------------------------


@pytest.mark.parametrize("cls", SERVICES, ids=lambda cls: cls.__name__)
def test_the_environment_does_not_rename_a_service(
    monkeypatch: pytest.MonkeyPatch, cls: type[ServiceSettings]
) -> None:
    monkeypatch.setenv("LABORCOOP_SERVICE_NAME", "intruder")

    assert cls().service_name == cls.model_fields["service_name"].default


def test_the_environment_does_not_name_the_shared_class(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABORCOOP_SERVICE_NAME", "intruder")

    assert ServiceSettings().service_name == "laborcoop"
    assert ServiceSettings(service_name="registry").service_name == "registry"


def test_a_renaming_variable_does_not_pick_another_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LABORCOOP_SERVICE_NAME", "gateway")
    monkeypatch.setenv("LABORCOOP_GATEWAY_DATABASE_URL", "postgresql://h/gateway")
    monkeypatch.setenv("LABORCOOP_REGISTRY_DATABASE_URL", "postgresql://h/registry")

    assert url(Registry()) == "postgresql://h/registry"


# --- trap 2: which database -------------------------------------------------------------------


def test_an_explicit_database_url_beats_every_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABORCOOP_REGISTRY_DATABASE_URL", "postgresql://h/registry")
    monkeypatch.setenv("LABORCOOP_DATABASE_URL", "postgresql://h/shared")

    as_tests_pass_it: dict[str, Any] = {"database_url": "postgresql://h/test"}
    assert url(Registry(**as_tests_pass_it)) == "postgresql://h/test"
    assert url(Registry(database_url=SecretStr("postgresql://h/test"))) == "postgresql://h/test"


def test_the_service_variable_beats_the_shared_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABORCOOP_REGISTRY_DATABASE_URL", "postgresql://h/registry")
    monkeypatch.setenv("LABORCOOP_DATABASE_URL", "postgresql://h/shared")

    assert url(Registry()) == "postgresql://h/registry"


def test_another_services_variable_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABORCOOP_GATEWAY_DATABASE_URL", "postgresql://h/gateway")
    monkeypatch.setenv("LABORCOOP_DATABASE_URL", "postgresql://h/shared")

    assert url(Registry()) == "postgresql://h/shared"


def test_an_empty_service_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABORCOOP_REGISTRY_DATABASE_URL", "")
    monkeypatch.setenv("LABORCOOP_DATABASE_URL", "postgresql://h/shared")

    assert url(Registry()) == "postgresql://h/shared"


def test_an_explicit_service_name_selects_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABORCOOP_REGISTRY_DATABASE_URL", "postgresql://h/registry")

    assert url(ServiceSettings(service_name="registry")) == "postgresql://h/registry"


@pytest.mark.parametrize("cls", SERVICES, ids=lambda cls: cls.__name__)
def test_every_service_reads_its_own_variable(
    monkeypatch: pytest.MonkeyPatch, cls: type[ServiceSettings]
) -> None:
    name = str(cls.model_fields["service_name"].default)
    monkeypatch.setenv(f"LABORCOOP_{name.upper()}_DATABASE_URL", f"postgresql://h/{name}")
    monkeypatch.setenv("LABORCOOP_DATABASE_URL", "postgresql://h/shared")

    assert url(cls()) == f"postgresql://h/{name}"
    assert url(cls(database_url=SecretStr("postgresql://h/test"))) == "postgresql://h/test"
