"""laborcoop's public contract: the event envelope, event payloads, topics and code lists.

Importing this package registers every event type.
"""

from laborcoop.contracts import agreements as agreements
from laborcoop.contracts import brands as brands
from laborcoop.contracts import placements as placements
from laborcoop.contracts import subscriptions as subscriptions
from laborcoop.contracts.envelope import CloudEvent as CloudEvent
from laborcoop.contracts.events import EventPayload as EventPayload
from laborcoop.contracts.events import EventSpec as EventSpec
from laborcoop.contracts.events import decode as decode
from laborcoop.contracts.events import new_event as new_event
from laborcoop.contracts.events import spec_for as spec_for
