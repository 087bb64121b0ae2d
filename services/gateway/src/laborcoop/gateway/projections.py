"""Read models built from events. Each ignores an event not newer than what it holds.

A view's ``version`` is its aggregate's version (the brand's ``ETag``), so every event of the
brands topic advances it, including those that change no column of the view (indicator reports,
and any type added to the topic later): otherwise a client using the listed version as
``If-Match`` would get a 412. ``laborcoop.common.copies`` does exactly that.
"""

from laborcoop.common.copies import CopyOf
from laborcoop.contracts import topics
from laborcoop.contracts.brands import BRAND_COLUMNS, BrandRegistered, brand_columns

GROUP = "gateway.projections"

BRAND_VIEW = CopyOf(
    table="brand_view",
    key="brand_id",
    topic=topics.BRANDS,
    created=BrandRegistered,
    keeps=("name", "province", "category", "status", "level"),
    columns=brand_columns,
    known=BRAND_COLUMNS,
)

SUBSCRIPTION = BRAND_VIEW.subscription(GROUP)
