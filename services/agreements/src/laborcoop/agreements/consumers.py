"""The agreements service's copy of the registry's brands, kept from brand events.

Only what agreements need: a brand's existence, name, province and status (retired brands can
no longer be linked). Every event of the brands topic advances the copy's version; one not newer
than the copy is ignored (``laborcoop.common.copies``). The copy lags the registry by the relay
and consumer delay: normally well under a second, longer while Kafka is unavailable.
"""

from laborcoop.common.copies import CopyOf
from laborcoop.contracts import topics
from laborcoop.contracts.brands import BRAND_COLUMNS, BrandRegistered, brand_columns

GROUP = "agreements.brands"

BRAND_COPY = CopyOf(
    table="brand_copy",
    key="brand_id",
    topic=topics.BRANDS,
    created=BrandRegistered,
    keeps=("name", "province", "status"),
    columns=brand_columns,
    known=BRAND_COLUMNS,
)

BRANDS = BRAND_COPY.subscription(GROUP)
