"""Alerts by email over SMTP (optionally STARTTLS and a login). The Message-ID is built from the
alert's idempotency key, so a mail delivered twice is recognisably the same message."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from medalist.config import EmailNotification, Pipeline
from medalist.notify import body, subject


class EmailNotifier:
    def __init__(self, spec: EmailNotification, pipeline: Pipeline) -> None:
        self.spec = spec
        where = urlsplit(spec.smtp)
        self.host, self.port = where.hostname or "localhost", where.port or 25

    def send(self, message: dict[str, Any]) -> None:
        mail = EmailMessage()
        mail["Subject"] = subject(message)
        mail["From"] = self.spec.sender
        mail["To"] = ", ".join(self.spec.to)
        mail["Message-ID"] = f"<{message.get('alert_id', message['run_id'])}@medalist>"
        mail.set_content(body(message))
        with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
            if self.spec.starttls:
                smtp.starttls()
            if self.spec.username:
                smtp.login(self.spec.username, self.spec.password or "")
            smtp.send_message(mail)
