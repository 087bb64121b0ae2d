"""The API's list of attributes is the domain's: the models derived from it cover every one."""

from dataclasses import fields

from laborcoop.contracts.brands import BrandAttributes, BrandDescription
from laborcoop.registry.domain import Attributes
from laborcoop.registry.schemas import ATTRIBUTES, BrandCreate, BrandOut, BrandPatch


def test_the_api_takes_and_answers_every_attribute_of_the_domain() -> None:
    domain = tuple(BrandDescription.model_fields)
    assert domain == ATTRIBUTES
    assert tuple(f.name for f in fields(Attributes)) == domain
    for model in (BrandCreate, BrandPatch, BrandOut, BrandAttributes):
        assert set(domain) <= set(model.model_fields), model


def test_a_patch_gives_the_domain_its_own_values() -> None:
    patch = BrandPatch.model_validate(
        {"occupations": None, "industry": {"section": "C", "division": "15"}, "operator": None}
    )
    changes = patch.changes()
    assert changes == {"occupations": (), "industry": changes["industry"], "operator": None}
    assert type(changes["industry"]).__name__ == "Industry"
