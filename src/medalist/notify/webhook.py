"""Alerts as HTTP POSTs: the message as JSON, or a Slack-compatible text message.

Each POST carries the alert's idempotency key (`Idempotency-Key`), so a receiver can drop a
message delivered twice (after a sender crashed between sending and recording it)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from medalist.config import Pipeline, WebhookNotification
from medalist.notify import headline


class WebhookNotifier:
    def __init__(self, spec: WebhookNotification, pipeline: Pipeline) -> None:
        self.spec = spec

    def send(self, message: dict[str, Any]) -> None:
        if self.spec.format == "slack":
            text = headline(message) + (
                f"\n<{message['url']}|Open the run>" if message.get("url") else ""
            )
            payload: dict[str, Any] = {"text": text}
        else:
            payload = message
        request = urllib.request.Request(
            self.spec.url,
            data=json.dumps(payload, default=str).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": str(message.get("alert_id", message["run_id"])),
                "User-Agent": "medalist",
                **self.spec.headers,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.spec.timeout_s) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            raise ConnectionError(f"{self.spec.url} answered {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ConnectionError(f"{self.spec.url} unreachable: {reason}") from None
