"""Code lists of the domain (docs/domain.md), kept in one place for every service and partner."""

import re
from enum import StrEnum
from typing import Annotated, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, model_validator


class BrandCategory(StrEnum):
    SKILLED_TRADES = "skilled_trades"  # 技能型
    PRODUCTION_LIFE_SERVICES = "production_life_services"  # 生产生活服务型
    CULTURE_TOURISM = "culture_tourism"  # 文化和旅游型
    LIVELIHOOD_SUPPORT = "livelihood_support"  # 民生保障型
    INTANGIBLE_HERITAGE = "intangible_heritage"  # 非遗传承型
    EMERGING_INDUSTRIES = "emerging_industries"  # 新兴产业
    AGRICULTURE = "agriculture"  # 种植养殖类


class BrandOwnership(StrEnum):
    REGIONAL_PUBLIC = "regional_public"  # 区域公用品牌
    ENTERPRISE = "enterprise"  # 企业品牌


class BrandLevel(StrEnum):
    """Who recognised the brand (认定); ordered from the lowest authority to the highest."""

    COUNTY = "county"
    CITY = "city"
    PROVINCE = "province"
    NATIONAL = "national"

    @property
    def rank(self) -> int:
        return list(BrandLevel).index(self)


class BrandStatus(StrEnum):
    REGISTERED = "registered"
    RECOGNISED = "recognised"
    SUSPENDED = "suspended"
    RETIRED = "retired"


class DevelopmentStage(StrEnum):
    DISCOVERY = "discovery"  # 发现培育
    GROWTH = "growth"  # 发展提升
    EXPANSION = "expansion"  # 壮大升级


OCCUPATION_PATTERN: Final = r"^\d-\d{2}-\d{2}-\d{2}$"
_OCCUPATION = re.compile(OCCUPATION_PATTERN)


def _check_occupation(code: str) -> str:
    if not _OCCUPATION.fullmatch(code):
        raise ValueError("occupation codes have the form d-dd-dd-dd (职业分类大典 2022)")
    return code


OccupationCode = Annotated[
    str,
    AfterValidator(_check_occupation),
    WithJsonSchema({"type": "string", "pattern": OCCUPATION_PATTERN, "examples": ["4-10-01-01"]}),
]
"""An occupation code of 职业分类大典 (2022); the pattern is in its JSON Schema."""

# GB/T 4754-2017: each section letter and the range of its two-digit divisions.
INDUSTRY_SECTIONS: Final = {
    "A": (1, 5),
    "B": (6, 12),
    "C": (13, 43),
    "D": (44, 46),
    "E": (47, 50),
    "F": (51, 52),
    "G": (53, 60),
    "H": (61, 62),
    "I": (63, 65),
    "J": (66, 69),
    "K": (70, 70),
    "L": (71, 72),
    "M": (73, 75),
    "N": (76, 79),
    "O": (80, 82),
    "P": (83, 83),
    "Q": (84, 85),
    "R": (86, 90),
    "S": (91, 96),
    "T": (97, 97),
}


class Industry(BaseModel):
    """A GB/T 4754-2017 section (A–T) and one of its two-digit divisions, e.g. A 04 (渔业).

    Fields added later are ignored here, so older consumers keep reading newer events; the API
    rejects unknown fields with its own subclass."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    section: str = Field(pattern=r"^[A-T]$", examples=["A"])
    division: str = Field(pattern=r"^\d{2}$", examples=["04"])

    @model_validator(mode="after")
    def _division_in_section(self) -> "Industry":
        low, high = INDUSTRY_SECTIONS[self.section]
        if not low <= int(self.division) <= high:
            raise ValueError(
                f"division {self.division} is not in section {self.section} ({low:02d}–{high:02d})"
            )
        return self


_PERIOD = re.compile(r"^(\d{4})(?:-Q([1-4]))?$")


def _check_period(value: str) -> str:
    match = _PERIOD.fullmatch(value)
    if not match or not 2000 <= int(match.group(1)) <= 2100:
        raise ValueError("a period is a year (2024) or a quarter (2024-Q3)")
    return value


PERIOD_PATTERN: Final = r"^(?:20\d{2}|2100)(?:-Q[1-4])?$"
"""The JSON Schema of a period: what :func:`_check_period` accepts, as a pattern."""

Period = Annotated[
    str,
    AfterValidator(_check_period),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": PERIOD_PATTERN,
            "description": "a year (2000–2100) or a quarter of it",
            "examples": ["2024", "2024-Q3"],
        }
    ),
]
"""A reporting period: a year ``2024`` or a quarter ``2024-Q3``."""


class AgreementKind(StrEnum):
    BILATERAL = "bilateral"  # 对口协作: exactly two parties
    ALLIANCE = "alliance"  # 联盟协作
    REGIONAL = "regional"  # 区域协作


class PartyRole(StrEnum):
    SENDING = "sending"
    RECEIVING = "receiving"
    BOTH = "both"


class AgreementStatus(StrEnum):
    DRAFT = "draft"
    PROPOSED = "proposed"
    SIGNED = "signed"  # every party signed; waiting for the start date
    ACTIVE = "active"
    EXPIRED = "expired"
    TERMINATED = "terminated"


class CooperationArea(StrEnum):
    """The five areas named at the 2024 conference, and two more from practice."""

    EMPLOYMENT_SERVICE_ALLIANCE = "employment_service_alliance"  # 就业服务联盟
    INFORMATION_SHARING = "information_sharing"  # 信息资源协同共享
    JOB_MATCHING = "job_matching"  # 人岗供需精准对接
    JOINT_TRAINING = "joint_training"  # 职业技能合作培训
    JOINT_BRAND_BUILDING = "joint_brand_building"  # 劳务品牌共建
    SHARED_EMPLOYEES = "shared_employees"  # 共享员工
    RIGHTS_PROTECTION = "rights_protection"  # 权益保障


class Sex(StrEnum):
    """Read from the ID number's 17th digit (odd: male), never entered separately."""

    MALE = "male"
    FEMALE = "female"


class Education(StrEnum):
    PRIMARY = "primary"  # 小学
    JUNIOR_SECONDARY = "junior_secondary"  # 初中
    SENIOR_SECONDARY = "senior_secondary"  # 高中
    VOCATIONAL = "vocational"  # 中专/技校/职高
    COLLEGE = "college"  # 大专
    BACHELOR = "bachelor"  # 本科
    POSTGRADUATE = "postgraduate"  # 研究生


class Availability(StrEnum):
    AVAILABLE = "available"
    PLACED = "placed"  # a live placement holds the worker
    UNAVAILABLE = "unavailable"


class ConsentScope(StrEnum):
    """What a worker agreed to share with one receiving province (PIPL Art. 23)."""

    CONTACT = "contact"  # name and phone
    IDENTITY = "identity"  # name, phone and ID number, for a placement


class CertificateKind(StrEnum):
    VOCATIONAL_SKILL = "vocational_skill"  # 职业技能等级证书
    SPECIAL_SKILL = "special_skill"  # 专项职业能力证书
    QUALIFICATION = "qualification"  # 职业资格证书
    SPECIAL_OPERATION = "special_operation"  # 特种作业操作证
    TRAINING = "training"  # 培训合格证


class DemandKind(StrEnum):
    PLACEMENT = "placement"
    SHARED_EMPLOYEE = "shared_employee"  # 共享员工: a secondment between employers, with an end


class DemandStatus(StrEnum):
    OPEN = "open"
    FILLED = "filled"  # accepted placements reached the headcount
    CLOSED = "closed"
    EXPIRED = "expired"


class PlacementStatus(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    ONBOARDED = "onboarded"
    COMPLETED = "completed"
    DECLINED = "declined"
    TERMINATED = "terminated"
    RETURNED = "returned"  # 返乡

    @property
    def live(self) -> bool:
        """A live placement holds its worker (at most one per worker)."""
        return self in (
            PlacementStatus.PROPOSED,
            PlacementStatus.ACCEPTED,
            PlacementStatus.ONBOARDED,
        )


class ReturnPath(StrEnum):
    """What followed a worker's return home (返乡就业创业)."""

    LOCAL_JOB = "local_job"
    BUSINESS_STARTUP = "business_startup"  # 返乡创业
    TRAINING = "training"
    NONE_YET = "none_yet"
