import json
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from pydantic import BaseModel, ValidationError

from laborcoop.contracts import decode, new_event
from laborcoop.contracts.brands import BrandRegistered
from laborcoop.contracts.codes import BrandCategory
from laborcoop.contracts.envelope import CloudEvent, format_sequence
from laborcoop.contracts.events import spec_for
from laborcoop.contracts.ids import uuid7
from laborcoop.contracts.provinces import PROVINCES, ProvinceCode, province_of


def test_uuid7_has_version_7_and_sorts_by_creation() -> None:
    ids = [uuid7() for _ in range(5000)]
    assert all(i.version == 7 and i.variant == "specified in RFC 4122" for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_sequence_orders_lexicographically_like_numbers() -> None:
    assert format_sequence(9) < format_sequence(10) < format_sequence(123456)
    assert len(format_sequence(1)) == 20


def test_thirty_one_provinces_and_their_codes() -> None:
    assert len(PROVINCES) == 31
    assert all(len(code) == 6 and code.endswith("0000") for code in PROVINCES)
    assert province_of("430524") == "430000"


class _Holder(BaseModel):
    province: ProvinceCode


@pytest.mark.parametrize("code", ["710000", "810000", "990000", "43000", "abcdef"])
def test_codes_outside_the_system_are_refused(code: str) -> None:
    with pytest.raises(ValidationError):
        _Holder(province=code)


def _event() -> CloudEvent:
    payload = BrandRegistered(
        brand_id=uuid4(), name="河北福嫂", province="130000", category=BrandCategory.SKILLED_TRADES
    )
    return new_event(payload, subject=str(payload.brand_id), version=3, provinces=["130000"])


def test_envelope_carries_the_contract_attributes() -> None:
    event = _event()
    raw = json.loads(event.to_json_bytes())
    assert raw["specversion"] == "1.0"
    assert raw["type"] == "cn.laborcoop.registry.brand.registered.v1"
    assert raw["source"] == "/laborcoop/registry"
    assert raw["sequence"] == "00000000000000000003"
    assert raw["provinces"] == "130000"
    assert raw["dataschema"].endswith("cn.laborcoop.registry.brand.registered.v1.json")
    assert UUID(raw["id"]).version == 7
    assert datetime.fromisoformat(raw["time"]).tzinfo is not None
    assert "traceparent" not in raw


def test_round_trip_gives_the_typed_payload() -> None:
    event = _event()
    again = CloudEvent.from_json_bytes(event.to_json_bytes())
    payload = decode(again)
    assert isinstance(payload, BrandRegistered)
    assert payload.name == "河北福嫂"
    assert again.version == 3


def test_consumers_accept_unknown_attributes_and_fields() -> None:
    raw = json.loads(_event().to_json_bytes())
    raw["newextension"] = "x"
    raw["data"]["added_later"] = 1
    event = CloudEvent.model_validate(raw)
    assert isinstance(decode(event), BrandRegistered)


def test_naive_time_and_bad_sequence_are_refused() -> None:
    raw = json.loads(_event().to_json_bytes())
    with pytest.raises(ValidationError):
        CloudEvent.model_validate({**raw, "time": datetime(2024, 11, 21).isoformat()})
    with pytest.raises(ValidationError):
        CloudEvent.model_validate({**raw, "sequence": "3"})
    assert CloudEvent.model_validate(raw).time.tzinfo == UTC


def test_payloads_are_frozen_and_registered_with_their_topic() -> None:
    spec = spec_for(BrandRegistered.event_type)
    assert spec is not None
    assert spec.topic == "laborcoop.registry.brands"
    payload = BrandRegistered(
        brand_id=uuid4(), name="n", province="130000", category=BrandCategory.SKILLED_TRADES
    )
    with pytest.raises(ValidationError):
        payload.name = "other"  # type: ignore[misc]
