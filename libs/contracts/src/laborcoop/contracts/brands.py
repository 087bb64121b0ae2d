"""Events of the registry's labour brands (topic ``laborcoop.registry.brands``)."""

from uuid import UUID

from laborcoop.contracts import topics
from laborcoop.contracts.events import EventPayload, event_type


@event_type("cn.laborcoop.registry.brand.registered.v1", topic=topics.BRANDS)
class BrandRegistered(EventPayload):
    brand_id: UUID
    name: str
    province: str
    category: str
