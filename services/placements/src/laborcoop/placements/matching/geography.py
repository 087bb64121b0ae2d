"""Distances between provinces, for ranking: **province-level**, from each provincial capital.

A worker's home county and a demand's city are both reduced to their province (the first two
digits of the GB/T 2260 code), and the distance is the great-circle distance between the two
provinces' capitals. Two places in one province are 0 km apart; a county at a province's edge is
placed at its capital. Good enough to tell Hunan → Guangdong (~560 km) from Hunan → Xinjiang
(~2,900 km); not a travel distance.
"""

from functools import lru_cache
from math import asin, cos, radians, sin, sqrt
from types import MappingProxyType
from typing import Final, NamedTuple

from laborcoop.contracts.provinces import province_of

EARTH_RADIUS_KM: Final = 6371.0


class Capital(NamedTuple):
    name: str
    lat: float
    lon: float


CAPITALS: Final = MappingProxyType(
    {
        "110000": Capital("北京", 39.904, 116.407),
        "120000": Capital("天津", 39.084, 117.201),
        "130000": Capital("石家庄", 38.042, 114.515),
        "140000": Capital("太原", 37.870, 112.549),
        "150000": Capital("呼和浩特", 40.842, 111.749),
        "210000": Capital("沈阳", 41.806, 123.432),
        "220000": Capital("长春", 43.817, 125.324),
        "230000": Capital("哈尔滨", 45.803, 126.535),
        "310000": Capital("上海", 31.230, 121.474),
        "320000": Capital("南京", 32.060, 118.797),
        "330000": Capital("杭州", 30.274, 120.155),
        "340000": Capital("合肥", 31.821, 117.227),
        "350000": Capital("福州", 26.074, 119.296),
        "360000": Capital("南昌", 28.682, 115.858),
        "370000": Capital("济南", 36.651, 117.120),
        "410000": Capital("郑州", 34.746, 113.625),
        "420000": Capital("武汉", 30.593, 114.305),
        "430000": Capital("长沙", 28.228, 112.939),
        "440000": Capital("广州", 23.129, 113.264),
        "450000": Capital("南宁", 22.817, 108.366),
        "460000": Capital("海口", 20.044, 110.199),
        "500000": Capital("重庆", 29.563, 106.551),
        "510000": Capital("成都", 30.573, 104.066),
        "520000": Capital("贵阳", 26.647, 106.630),
        "530000": Capital("昆明", 24.880, 102.833),
        "540000": Capital("拉萨", 29.650, 91.172),
        "610000": Capital("西安", 34.341, 108.940),
        "620000": Capital("兰州", 36.061, 103.834),
        "630000": Capital("西宁", 36.617, 101.778),
        "640000": Capital("银川", 38.487, 106.231),
        "650000": Capital("乌鲁木齐", 43.825, 87.617),
    }
)
"""The capital of each of the 31 provincial-level divisions, by province code (WGS 84 degrees)."""


@lru_cache(maxsize=1024)
def _between(a: str, b: str) -> float | None:
    first, second = CAPITALS.get(a), CAPITALS.get(b)
    if first is None or second is None:
        return None
    if a == b:
        return 0.0
    lat1, lat2 = radians(first.lat), radians(second.lat)
    dlat, dlon = lat2 - lat1, radians(second.lon - first.lon)
    h = sin(dlat / 2) ** 2 + cos(lat1) * cos(lat2) * sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * asin(sqrt(h))


def distance_km(place: str, other: str) -> float | None:
    """Great-circle km between the capitals of the provinces of two division codes (county,
    city or province); ``None`` when either is outside the 31 provinces."""
    return _between(province_of(place), province_of(other))
