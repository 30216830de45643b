"""A small Chrome DevTools Protocol client for headless Chromium, over ``--remote-debugging-pipe``.

The browser reads commands from its file descriptor 3 and writes replies and events to 4, as
JSON messages ended by a NUL byte (the transport Puppeteer and Playwright use too). Over a pipe
there is no port to find or race for, no HTTP endpoint to poll and no websocket library: the
standard library is enough. One page target is attached in flat mode; its events (console
calls, exceptions, log entries such as a CSP violation or a failed load) are collected while
commands wait for their replies.

Only for the tests: nothing here is part of the library.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import signal
import time
from pathlib import Path
from typing import Any

__all__ = ["CANDIDATES", "CDPError", "Chromium", "find_chromium"]

#: executables tried in order (the Debian package installs ``chromium``)
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """The Chromium executable: ``$CHROMIUM`` if set, else the first of :data:`CANDIDATES`."""
    named = os.environ.get("CHROMIUM")
    if named:
        return shutil.which(named)
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


class CDPError(RuntimeError):
    """The browser answered a command with an error, died, or did not answer in time."""


def _high_fd(fd: int) -> int:
    """``fd`` moved to a number >= 10 (so that moving it onto 3 or 4 in the child is safe)."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


class Chromium:
    """Headless Chromium with one page, driven over the DevTools pipe.

    Args:
        executable: the browser (see :func:`find_chromium`).
        profile: an empty folder for the browser profile; the browser's log goes to
            ``profile / "chromium.log"``.
        width, height: the viewport in CSS pixels.
        timeout: seconds a command may take before :class:`CDPError`.
    """

    def __init__(
        self,
        executable: str,
        profile: Path,
        *,
        width: int = 1200,
        height: int = 900,
        timeout: float = 30.0,
    ) -> None:
        self.timeout = timeout
        self.events: list[dict[str, Any]] = []
        self.log_path = profile / "chromium.log"
        self._next_id = 0
        self._buffer = b""
        to_browser_r, to_browser_w = map(_high_fd, os.pipe())
        from_browser_r, from_browser_w = map(_high_fd, os.pipe())
        args = [
            executable,
            "--headless",
            "--remote-debugging-pipe",
            f"--user-data-dir={profile}",
            "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-default-apps",
            "--disable-sync",
            "--no-first-run",
            "--no-default-browser-check",
            "--mute-audio",
            "--hide-scrollbars",
            "--font-render-hinting=none",
            f"--window-size={width},{height}",
            "about:blank",
        ]
        actions = [
            (os.POSIX_SPAWN_DUP2, to_browser_r, 3),
            (os.POSIX_SPAWN_DUP2, from_browser_w, 4),
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, str(self.log_path), os.O_WRONLY | os.O_CREAT, 0o644),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ]
        self._write_fd = to_browser_w
        self._read_fd = from_browser_r
        try:  # posix_spawn, not subprocess: the pipes must be exactly fds 3 and 4 in the child
            self.pid = os.posix_spawn(
                executable, args, os.environ, file_actions=actions, setsid=True
            )
        except BaseException:
            for fd in (to_browser_w, from_browser_r):
                os.close(fd)
            raise
        finally:
            os.close(to_browser_r)
            os.close(from_browser_w)
        try:
            target = self.send("Target.createTarget", url="about:blank")["targetId"]
            self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)[
                "sessionId"
            ]
            for domain in ("Page", "Runtime", "Log"):
                self.send(f"{domain}.enable", session=self.session)
            self.send(
                "Emulation.setDeviceMetricsOverride",
                session=self.session,
                width=width,
                height=height,
                deviceScaleFactor=1,
                mobile=False,
            )
        except BaseException:
            self.close()
            raise

    # -- the protocol --------------------------------------------------------------------------

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CDPError(f"no answer in {self.timeout} s\n{self._log_tail()}")
            ready, _, _ = select.select([self._read_fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._read_fd, 1 << 20)
            if not chunk:
                raise CDPError(f"the browser closed the pipe (exited)\n{self._log_tail()}")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send a command and return its result; events that arrive meanwhile are kept."""
        self._next_id += 1
        command: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session is not None:
            command["sessionId"] = session
        os.write(self._write_fd, json.dumps(command).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            message = self._read_message(deadline)
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise CDPError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def wait_for(self, method: str, start: int = 0) -> dict[str, Any]:
        """The first event ``method`` of the page from ``self.events[start:]`` on, waiting."""
        deadline = time.monotonic() + self.timeout
        seen = start
        while True:
            for event in self.events[seen:]:
                if event["method"] == method and event.get("sessionId") == self.session:
                    return event
            seen = len(self.events)
            message = self._read_message(deadline)
            if "method" in message:
                self.events.append(message)

    # -- what the tests use --------------------------------------------------------------------

    def open(self, url: str) -> None:
        """Navigate the page to ``url`` and wait for its ``load`` event."""
        start = len(self.events)
        result = self.send("Page.navigate", session=self.session, url=url)
        if result.get("errorText"):
            raise CDPError(f"cannot open {url}: {result['errorText']}")
        self.wait_for("Page.loadEventFired", start)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (returned by value)."""
        result = self.send(
            "Runtime.evaluate",
            session=self.session,
            expression=expression,
            returnByValue=True,
            awaitPromise=True,
        )
        if "exceptionDetails" in result:
            raise CDPError(f"evaluation failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path, max_height: int = 8000) -> Path:
        """A PNG of the whole page (at most ``max_height`` CSS pixels tall) written to ``path``."""
        metrics = self.send("Page.getLayoutMetrics", session=self.session)
        size = metrics["cssContentSize"]
        clip = {
            "x": 0,
            "y": 0,
            "width": size["width"],
            "height": min(size["height"], max_height),
            "scale": 1,
        }
        shot = self.send(
            "Page.captureScreenshot",
            session=self.session,
            format="png",
            clip=clip,
            captureBeyondViewport=True,
        )
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def console_errors(self, since: int = 0) -> list[str]:
        """Errors reported in ``self.events[since:]``: console errors, exceptions, error log
        entries (a Content-Security-Policy violation, a failed load, ...)."""
        errors = []
        for event in self.events[since:]:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append(f"console.{params['type']}: {params.get('args')}")
            elif method == "Runtime.exceptionThrown":
                errors.append(f"exception: {params.get('exceptionDetails')}")
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                entry = params["entry"]
                errors.append(f"{entry.get('source')}: {entry.get('text')} ({entry.get('url')})")
        return errors

    def close(self) -> None:
        """Ask the browser to close, then make sure its process group is gone."""
        with contextlib.suppress(OSError):
            os.write(self._write_fd, json.dumps({"id": 0, "method": "Browser.close"}).encode())
            os.write(self._write_fd, b"\0")
        for fd in (self._write_fd, self._read_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        deadline = time.monotonic() + 5
        while not os.waitpid(self.pid, os.WNOHANG)[0]:
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)  # its own group (setsid): helpers too
                os.waitpid(self.pid, 0)
                break
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):  # helpers that outlived the browser
            os.killpg(self.pid, signal.SIGKILL)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
