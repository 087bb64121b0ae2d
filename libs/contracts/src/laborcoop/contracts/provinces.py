"""Provincial-level divisions of GB/T 2260: the one source of valid province codes.

The standard is revised yearly; the table carries its edition so a change is a reviewed edit here.
Taiwan (71), Hong Kong (81) and Macao (82) exist in the standard and are outside this system.
"""

from types import MappingProxyType
from typing import Annotated, Final

from pydantic import AfterValidator, WithJsonSchema

GB_T_2260_EDITION: Final = "2023"

PROVINCES: Final = MappingProxyType(
    {
        "110000": "北京市",
        "120000": "天津市",
        "130000": "河北省",
        "140000": "山西省",
        "150000": "内蒙古自治区",
        "210000": "辽宁省",
        "220000": "吉林省",
        "230000": "黑龙江省",
        "310000": "上海市",
        "320000": "江苏省",
        "330000": "浙江省",
        "340000": "安徽省",
        "350000": "福建省",
        "360000": "江西省",
        "370000": "山东省",
        "410000": "河南省",
        "420000": "湖北省",
        "430000": "湖南省",
        "440000": "广东省",
        "450000": "广西壮族自治区",
        "460000": "海南省",
        "500000": "重庆市",
        "510000": "四川省",
        "520000": "贵州省",
        "530000": "云南省",
        "540000": "西藏自治区",
        "610000": "陕西省",
        "620000": "甘肃省",
        "630000": "青海省",
        "640000": "宁夏回族自治区",
        "650000": "新疆维吾尔自治区",
    }
)


def is_province_code(code: str) -> bool:
    return code in PROVINCES


def province_of(division_code: str) -> str:
    """The province code of any 6-digit division code (city, county or province)."""
    return division_code[:2] + "0000"


def _check_province(code: str) -> str:
    if code not in PROVINCES:
        raise ValueError(f"{code!r} is not a GB/T 2260 province code of this system")
    return code


ProvinceCode = Annotated[
    str,
    AfterValidator(_check_province),
    WithJsonSchema(
        {
            "type": "string",
            "enum": sorted(PROVINCES),
            "description": f"GB/T 2260-{GB_T_2260_EDITION} province-level code",
        }
    ),
]
"""A 6-digit provincial code that appears in :data:`PROVINCES`; its JSON Schema enumerates them,
so a client generated from an OpenAPI document cannot send any other."""
