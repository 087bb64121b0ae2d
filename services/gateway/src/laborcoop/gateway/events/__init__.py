"""Events for subscribers outside the network: the gateway's event log and who may read what."""
