"""The agreements service's copy of the registry's brands, kept from brand events.

Only what agreements need: a brand's existence, name, province and status (retired brands can
no longer be linked). Every event of the brands topic advances the copy's version; one not newer
than the copy is ignored (``laborcoop.common.copies``). The copy lags the registry by the relay
and consumer delay: normally well under a second, longer while Kafka is unavailable.
"""

from laborcoop.common.copies import BRAND_COPY

GROUP = "agreements.brands"


BRANDS = BRAND_COPY.subscription(GROUP)
