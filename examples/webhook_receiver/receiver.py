"""A partner's receiver of laborcoop's webhooks: the standard library's HTTP server,
laborcoop-contracts and the ``standardwebhooks`` package, nothing else.

    WEBHOOK_SECRET=whsec_... python receiver.py [--host 127.0.0.1] [--port 8085]

Each delivery is a POST whose body is one CloudEvent (docs/events.md, "Webhooks"). The receiver
verifies the Standard Webhooks signature over the raw body before reading it (401 when it does
not match or the timestamp is more than five minutes off), checks that ``webhook-id`` is the
event's id, applies each id once (a retry repeats the id), and answers 204 at once: the gateway
retries anything but a 2xx. Unknown event types are acknowledged and skipped, so that a type added
later is not retried forever. "Applying" prints one JSON line per event on stdout; a real receiver
stores the event (and the ids it has seen) durably before answering, and does slow work later.
"""

import argparse
import json
import os
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from pydantic import ValidationError
from standardwebhooks import Webhook, WebhookVerificationError

from laborcoop.contracts import CloudEvent, decode, spec_for

MAX_BODY = 1 << 20  # laborcoop events are a few kilobytes


class Deliveries:
    """What the receiver keeps: the webhook ids it applied (a real one keeps them durably)."""

    def __init__(self, secret: str) -> None:
        self.webhook = Webhook(secret)
        self.applied_ids: set[str] = set()
        self.lock = threading.Lock()

    def receive(self, body: bytes, headers: dict[str, str]) -> HTTPStatus:
        try:
            self.webhook.verify(body, headers)
        except (WebhookVerificationError, ValueError):  # ValueError: a malformed header
            return HTTPStatus.UNAUTHORIZED
        try:
            event = CloudEvent.from_json_bytes(body)
        except ValidationError:
            return HTTPStatus.BAD_REQUEST
        if event.id != headers.get("webhook-id"):
            return HTTPStatus.BAD_REQUEST
        with self.lock:
            if event.id in self.applied_ids:
                return HTTPStatus.NO_CONTENT  # a retry of a delivery already applied
            if spec_for(event.type) is not None:
                try:
                    self.apply(event, decode(event).model_dump(mode="json"))
                except ValidationError:
                    return HTTPStatus.BAD_REQUEST
            self.applied_ids.add(event.id)
        return HTTPStatus.NO_CONTENT

    def apply(self, event: CloudEvent, payload: dict[str, Any]) -> None:
        line = {"id": event.id, "type": event.type, "subject": event.subject, "data": payload}
        print(json.dumps(line, ensure_ascii=False), flush=True)


class Handler(BaseHTTPRequestHandler):
    deliveries: ClassVar[Deliveries]

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("content-length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self._answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
            return
        body = self.rfile.read(length)
        headers = {name.lower(): value for name, value in self.headers.items()}
        self._answer(self.deliveries.receive(body, headers))

    def _answer(self, status: HTTPStatus) -> None:
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        print(format % args, file=sys.stderr)


def serve(host: str, port: int, secret: str) -> None:
    Handler.deliveries = Deliveries(secret)
    with ThreadingHTTPServer((host, port), Handler) as server:
        bound_host, bound_port = server.server_address[:2]
        print(f"listening on http://{bound_host!s}:{bound_port}/", file=sys.stderr, flush=True)
        server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Receive laborcoop's webhooks.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8085, help="0: any free port")
    args = parser.parse_args(argv)
    secret = os.environ.get("WEBHOOK_SECRET")
    if not secret:
        parser.error("set WEBHOOK_SECRET to the subscription's secret (whsec_...)")
    serve(args.host, args.port, secret)


if __name__ == "__main__":
    main()
