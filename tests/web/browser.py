"""One Chromium (Debian's, driven by Playwright) and one served dashboard for the whole test
session, and a screenshot check at desktop (1280) and phone (390) widths."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

CHROMIUM = os.environ.get("MEDALIST_TEST_CHROMIUM", "/usr/bin/chromium")
FLAGS = [  # as root, in a closed network: no sandbox, no background calls home
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP, PHONE = 1280, 390


def launch() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"no chromium at {CHROMIUM}: run `make test` (it installs Debian's chromium) or set "
            "MEDALIST_TEST_CHROMIUM",
            pytrace=False,
        )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


def serve(app: FastAPI) -> Iterator[str]:
    """The app on a free port of 127.0.0.1, in a thread; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def log_in(page: Page, base: str, token: str) -> None:
    page.goto(base + "/")
    expect(page).to_have_url(base + "/login")
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Overview")


def screenshots(page: Page, folder: Path, name: str, *keys: Locator) -> None:
    """Desktop and phone screenshots of the page; at both widths the key elements are
    visible, and on the phone nothing makes the page body scroll sideways (wide tables
    scroll inside themselves)."""
    for label, width in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size({"width": width, "height": 900})
        for key in keys:
            expect(key.first).to_be_visible()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} at {width}px: the page is {overflow}px too wide"
        shot = folder / f"{name}-{label}.png"
        page.screenshot(path=shot, full_page=True)
        assert shot.stat().st_size > 5_000, f"{shot} is nearly empty"
    page.set_viewport_size({"width": DESKTOP, "height": 900})
