"""Load an HTML report in headless Chromium and say what a reader's browser would see.

    python scripts/browser_check.py REPORT.html [--screenshot OUT.png] [--pdf OUT.pdf]

Prints the console errors, every request other than the page itself, the rendered height at
a 1280-pixel-wide window and the number of A4 pages when printed; with ``--screenshot`` it
writes the top of the page as a PNG (docs/report-screenshot.png is made this way from the
demo's release report). Exits 1 when the page logs an error or asks for anything outside
itself.

Chromium is driven through its DevTools protocol over a pipe (``--remote-debugging-pipe``:
JSON messages ending in a NUL byte, commands on fd 3, answers and events on fd 4), so no
port is opened and nothing else needs installing. The tests (``-m browser``) use
:func:`load`.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
WIDTH, HEIGHT = 1280, 900
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-pipe",
    f"--window-size={WIDTH},{HEIGHT}",
)


@dataclass
class PageFacts:
    """What the browser saw."""

    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # URLs other than the page itself
    height: int = 0  # CSS pixels at WIDTH
    pdf_pages: int = 0  # A4, the browser's print defaults
    pdf: bytes = b""
    screenshot: bytes = b""
    title: str = ""


class _Pipe:
    """A DevTools session over the two pipes of ``--remote-debugging-pipe``."""

    def __init__(self, chromium: str, profile: Path) -> None:
        to_child_r, self._out = os.pipe()
        self._in, from_child_w = os.pipe()
        # Above fd 4, so that bash's redirections below cannot clobber one another.
        to_child_r, from_child_w = _above_4(to_child_r), _above_4(from_child_w)
        # The browser reads commands on fd 3 and writes on fd 4: move the pipe ends there.
        command = f'exec "$0" "$@" 3<&{to_child_r} 4>&{from_child_w}'
        self.proc = subprocess.Popen(
            ["bash", "-c", command, chromium, *FLAGS, f"--user-data-dir={profile}"],
            pass_fds=(to_child_r, from_child_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send one command and wait for its answer (events that arrive meanwhile are kept)."""
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30.0) -> dict[str, Any]:
        """The first event ``method`` (already received or still to come)."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.get("method") == method:
                    return event
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {timeout:g} s")
            self.events.append(self._read())

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = os.read(self._in, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return dict(json.loads(message))

    def close(self) -> None:
        try:
            os.write(self._out, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._out)
        os.close(self._in)


def _above_4(fd: int) -> int:
    """The same pipe end on a descriptor number of 10 or more (the old one closed)."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return moved


def load(page: Path, chromium: str = CHROMIUM, screenshot_height: int = 0) -> PageFacts:
    """Open ``page`` in headless Chromium; collect errors, requests, height, PDF and PNG.

    Args:
        page: the HTML file.
        chromium: the browser binary.
        screenshot_height: when above 0, a PNG of the top of the page this many CSS pixels
            high (at the window's width) is taken.
    """
    url = page.resolve().as_uri()
    facts = PageFacts()
    with tempfile.TemporaryDirectory(prefix="sdc-chromium-") as profile:
        pipe = _Pipe(chromium, Path(profile))
        try:
            target = pipe.send("Target.createTarget", url="about:blank")["targetId"]
            session = pipe.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            for domain in ("Page", "Network", "Runtime", "Log"):
                pipe.send(f"{domain}.enable", session)
            pipe.send(
                "Emulation.setDeviceMetricsOverride",
                session,
                width=WIDTH,
                height=HEIGHT,
                deviceScaleFactor=1,
                mobile=False,
            )
            pipe.send("Page.navigate", session, url=url)
            pipe.wait_for("Page.loadEventFired")
            facts.title = _evaluate(pipe, session, "document.title")
            facts.height = int(_evaluate(pipe, session, "document.documentElement.scrollHeight"))
            pdf = pipe.send("Page.printToPDF", session, paperWidth=8.27, paperHeight=11.69)
            facts.pdf = base64.b64decode(pdf["data"])
            if screenshot_height:
                clip = {"x": 0, "y": 0, "width": WIDTH, "height": screenshot_height, "scale": 1}
                shot = pipe.send(
                    "Page.captureScreenshot", session, format="png", clip=clip,
                    captureBeyondViewport=True,
                )  # fmt: skip
                facts.screenshot = base64.b64decode(shot["data"])
        finally:
            pipe.close()
    facts.pdf_pages = count_pdf_pages(facts.pdf)
    facts.console_errors = _errors(pipe.events)
    facts.requests = [
        str(e["params"]["request"]["url"])
        for e in pipe.events
        if e.get("method") == "Network.requestWillBeSent" and e["params"]["request"]["url"] != url
    ]
    return facts


def _evaluate(pipe: _Pipe, session: str, expression: str) -> Any:
    result = pipe.send("Runtime.evaluate", session, expression=expression, returnByValue=True)
    return result["result"].get("value")


def _errors(events: list[dict[str, Any]]) -> list[str]:
    """Console errors, uncaught exceptions and browser log errors (failed loads...)."""
    out = []
    for e in events:
        method, params = e.get("method"), e.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            out.append(" ".join(str(a.get("value", a.get("description"))) for a in params["args"]))
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            thrown = details.get("exception", {}).get("description", "")
            out.append(f"{details.get('text')} {thrown}".strip())
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            out.append(str(params["entry"].get("text")))
    return out


def count_pdf_pages(pdf: bytes) -> int:
    """The pages of a PDF: its ``/Type /Page`` objects (not ``/Pages``)."""
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--screenshot", type=Path, help="write the top of the page as PNG")
    parser.add_argument("--shot-height", type=int, default=1400, help="CSS pixels (1400)")
    parser.add_argument("--pdf", type=Path, help="write the printed page as PDF")
    parser.add_argument("--chromium", default=shutil.which("chromium") or CHROMIUM)
    args = parser.parse_args()
    facts = load(args.report, args.chromium, args.shot_height if args.screenshot else 0)
    if args.screenshot:
        args.screenshot.write_bytes(facts.screenshot)
    if args.pdf:
        args.pdf.write_bytes(facts.pdf)
    print(f"title: {facts.title}")
    print(f"height at {WIDTH} px: {facts.height} px ({facts.height / HEIGHT:.1f} screens)")
    print(f"printed: {facts.pdf_pages} A4 pages")
    for line in facts.console_errors:
        print(f"console error: {line}")
    for line in facts.requests:
        print(f"request: {line}")
    return 1 if facts.console_errors or facts.requests else 0


if __name__ == "__main__":
    sys.exit(main())
