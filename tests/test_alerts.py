"""Alerts reach real receivers: a local HTTP server (JSON and Slack webhooks, one that refuses
the first requests) and a local SMTP server. A channel that is down keeps its alerts in the
outbox and gets each exactly once when it is back; `on` and `when` pick which runs it hears of."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from medalist.cli import app
from medalist.notify import outbox as outbox_module
from medalist.notify.outbox import deliver_due
from medalist.runlog import Status
from medalist.wiring import local_ports
from tests.conftest import HEADER
from tests.sinks import HttpSink, SmtpSink

GOOD = HEADER + "1,2026-11-24 09:00:00,7,2,10.00,PAID\n2,2026-11-24 09:00:00,7,0,1.00,PAID\n"
BAD = b"\x00\x01binary"


@pytest.fixture
def http():
    sink = HttpSink()
    yield sink
    sink.close()


@pytest.fixture
def smtp():
    sink = SmtpSink()
    yield sink
    sink.close()


def test_webhook_gets_the_whole_message_with_an_idempotency_key(make_project, http):
    project = make_project(
        notifications=[{"type": "webhook", "url": http.url}], dashboard_url="http://dash:8000/"
    )
    project.land("orders/2026-11-24.csv", GOOD)
    project.land("orders/2026-11-25.csv", BAD)

    ok, failed = sorted(project.run().runs, key=lambda r: r.file)

    # one alert per run; a batch's file that fails Crawl is told before the others finish
    by_event = {body["event"]: (headers, body) for headers, body in http.received}
    assert len(http.received) == 2 and set(by_event) == {"SUCCESS", "FAIL"}
    (h1, success), (h2, fail) = by_event["SUCCESS"], by_event["FAIL"]
    assert success["run_id"] == ok.run_id and success["rows_quarantined"] == 1
    assert success["quarantined_ratio"] == 0.5
    assert success["url"] == f"http://dash:8000/runs/{ok.run_id}"
    assert fail["state"] == "Crawl" and "binary" in fail["reason"]
    assert h1["Idempotency-Key"] == success["alert_id"] != h2["Idempotency-Key"]
    assert failed.status == Status.FAILED


def test_slack_format_posts_a_text_line(make_project, http):
    project = make_project(notifications=[{"type": "webhook", "url": http.url, "format": "slack"}])
    project.land("orders/2026-11-25.csv", BAD)

    project.run()

    ((_, body),) = http.received
    assert list(body) == ["text"] and body["text"].startswith("FAIL orders orders/2026-11-25.csv")


def test_email_subject_and_body_name_the_failure(make_project, smtp):
    channel = {"type": "email", "smtp": smtp.url, "to": ["ops@example.com"], "on": ["failure"]}
    project = make_project(notifications=[channel])
    project.land("orders/2026-11-24.csv", GOOD)
    project.land("orders/2026-11-25.csv", BAD)

    project.run()

    (mail,) = smtp.messages  # on: [failure] keeps the SUCCESS away
    assert mail["Subject"] == "[medalist] FAILED orders 2026-11-25.csv at Crawl"
    assert mail["To"] == "ops@example.com"
    text = mail.get_payload()
    assert "FAIL orders orders/2026-11-25.csv at Crawl" in text
    assert "state: Crawl" in text and "it is binary" in text


def test_when_thresholds_alert_on_a_success_that_lost_rows(make_project, http):
    channel = {"type": "webhook", "url": http.url, "when": "quarantined_ratio > 0.25"}
    project = make_project(notifications=[channel])
    project.land("orders/a.csv", GOOD)  # 1 of 2 rows quarantined
    project.land("orders/b.csv", HEADER + "3,2026-11-24 09:00:00,7,2,10.00,PAID\n")

    project.run()

    assert [body["file"] for _, body in http.received] == ["orders/a.csv"]


def test_a_channel_that_is_down_gets_every_alert_exactly_once_when_back(
    make_project, http, monkeypatch
):
    monkeypatch.setattr(outbox_module, "FIRST_RETRY_S", 0.0)  # retry at once, for the test
    http.down = True
    project = make_project(notifications=[{"type": "webhook", "url": http.url}, {"type": "file"}])
    for day in range(24, 28):
        project.land(
            f"orders/2026-11-{day}.csv", HEADER + f"{day},2026-11-{day} 09:00:00,7,1,1,PAID\n"
        )

    runs = project.run().runs

    assert {r.status for r in runs} == {Status.SUCCEEDED}  # a down channel fails no run
    ports = local_ports(project.pipeline)
    waiting = ports.outbox.undelivered()
    assert {a.channel for a in waiting} == {"webhook"} and len(waiting) == 4
    listed = CliRunner().invoke(app, ["alerts", "-c", str(project.config_path)])
    assert "4 alert(s) not delivered yet" in listed.output and "503" in listed.output

    deliver_due(ports.outbox, ports.notifiers)  # still down: still waiting
    http.down = False
    deliver_due(ports.outbox, ports.notifiers)
    deliver_due(ports.outbox, ports.notifiers)  # nothing left: nothing sent twice

    keys = [headers["Idempotency-Key"] for headers, _ in http.received]
    assert sorted(keys) == sorted(a.key for a in waiting) and len(set(keys)) == 4
    assert ports.outbox.undelivered() == []
    assert http.attempts > 4


def test_alerts_send_delivers_what_waits_now(make_project, http):
    project = make_project(notifications=[{"type": "webhook", "url": http.url}])
    http.down = True
    project.land("orders/a.csv", GOOD)
    project.run()
    http.down = False

    result = CliRunner().invoke(app, ["alerts", "--send", "-c", str(project.config_path)])

    assert (
        "sent 1, failed 0" in result.output and "Every alert has been delivered." in result.output
    )
    assert len(http.received) == 1


@pytest.mark.parametrize(
    ("channel", "says"),
    [
        ({"type": "webhook", "url": "http://x", "when": "ratio > 1"}, "unknown field 'ratio'"),
        ({"type": "webhook", "url": "http://x", "when": "rows_in >> 1"}, "cannot read"),
        ({"type": "email", "smtp": "mail.example.com", "to": ["a@b"]}, "is not smtp://host:port"),
        ({"type": "webhook", "url": "http://x", "on": ["always"]}, "notifications.0.on.0"),
    ],
)
def test_channel_mistakes_are_config_errors_naming_the_key(make_project, channel, says):
    project = make_project(notifications=[channel])

    result = CliRunner().invoke(app, ["validate", "-c", str(project.config_path)])

    assert result.exit_code == 2 and says in result.output
