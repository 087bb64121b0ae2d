"""``GET /v1/events/stream``: the gateway's event log as server-sent events, per audience,
resumable with ``Last-Event-ID`` (``api`` the route, ``query`` what a stream carries and where it
starts, ``feed`` the reading loop, ``streams`` the limit per client and the end at shutdown)."""
