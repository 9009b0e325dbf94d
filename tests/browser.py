"""Open a page in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright; no browser download)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium tries to reach Google's services at start and logs
# refused connections; the page itself needs no network (report.html is self-contained).
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def chromium() -> str | None:
    return CHROMIUM if Path(CHROMIUM).is_file() else shutil.which("chromium")


class Page:
    """A loaded page: its console errors, uncaught exceptions and failed requests, and a Playwright page."""

    def __init__(self, url: str, ready_js: str, timeout_ms: int = 60_000):
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        self._profile = tempfile.mkdtemp(prefix="codesign-chromium-")
        try:
            self._ctx = self._pw.chromium.launch_persistent_context(
                self._profile, executable_path=chromium(), headless=True, args=FLAGS,
                viewport={"width": 1400, "height": 1000})
            self.console_errors: list[str] = []
            self.requests: list[str] = []
            self.page = self._ctx.new_page()
            self.page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
            self.page.on("pageerror", lambda e: self.console_errors.append(f"uncaught: {e}"))
            self.page.on("request", lambda r: self.requests.append(r.url))
            self.page.goto(url, wait_until="load", timeout=timeout_ms)
            self.page.wait_for_function(ready_js, timeout=timeout_ms)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        try:
            if getattr(self, "_ctx", None) is not None:
                self._ctx.close()
        finally:
            self._pw.stop()
            shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> "Page":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
