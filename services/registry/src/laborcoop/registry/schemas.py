"""The registry's API models. Requests reject unknown fields and normalise text to NFC."""

from datetime import datetime
from uuid import UUID

from pydantic import Field

from laborcoop.common.api import ApiModel, NfcText
from laborcoop.contracts.provinces import ProvinceCode


class BrandCreate(ApiModel):
    name: NfcText = Field(min_length=2, max_length=64, examples=["安化黑茶茶艺师"])
    province: ProvinceCode = Field(examples=["430000"])
    category: NfcText = Field(min_length=1, max_length=32, examples=["skilled_trades"])


class BrandOut(ApiModel):
    id: UUID
    name: str
    province: str
    category: str
    version: int
    created_at: datetime
    updated_at: datetime
