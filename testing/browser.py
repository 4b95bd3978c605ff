"""A real browser for tests: Debian's headless Chromium driven by Playwright, and an hls.js player
in a page, watched from Python.

`make test` installs both halves: Chromium from Debian's packages (`scripts/install_system_deps.sh
chromium`) and hls.js from npm (`package.json`, into `node_modules/`, which is not committed).
Playwright cannot download a browser of its own here, so it drives `/usr/bin/chromium` through
`executable_path`. A missing piece is an error that says how to install it, never a skip."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

CHROMIUM = Path("/usr/bin/chromium")
HLS_JS = Path(settings.BASE_DIR) / "node_modules" / "hls.js" / "dist" / "hls.min.js"
# As root Chromium needs --no-sandbox; the rest keeps it off the network (the machine has none but
# loopback, and refused background connections only slow it down) and lets a muted video autoplay.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
# hls.js reports these while it waits for data and recovers by itself: not failures of the stream.
HARMLESS_PLAYER_ERRORS = frozenset({"bufferStalledError", "bufferNudgeOnStall"})
# The audio rendition is its own track, and the first video frame is shown at the B-frame delay
# (0.08 s at 25 fps), so the buffered range can begin a fraction of a second after 0; hls.js then
# seeks over that gap once, at the start. A gap anywhere later is a real hole in the stream.
START_GAP_SECONDS = 0.5


def harmless_player_error(error: dict) -> bool:
    if error["fatal"]:
        return False
    if error["details"] == "bufferSeekOverHole":
        return error["at"] < START_GAP_SECONDS
    return error["details"] in HARMLESS_PLAYER_ERRORS


class BrowserToolMissing(RuntimeError):
    pass


def missing_browser_tools() -> list[str]:
    """What the browser tests need and do not find, each with the way to install it."""
    problems = []
    if not CHROMIUM.exists():
        problems.append(f"{CHROMIUM} is missing: `make test` installs it (scripts/install_system_deps.sh chromium)")
    if not HLS_JS.exists():
        problems.append(f"{HLS_JS} is missing: `make test` installs it (`npm ci` at the repository root)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problems.append("the playwright package is missing: `make test` installs requirements-dev.txt")
    return problems


@contextmanager
def chromium() -> Iterator:
    """A headless Chromium (Playwright `Browser`), closed afterwards."""
    problems = missing_browser_tools()
    if problems:
        raise BrowserToolMissing("; ".join(problems))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


PLAYER_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>hls.js test player</title></head>
<body style="margin:0;background:#111;color:#eee;font:12px monospace">
<video id="video" muted playsinline width="854" height="480" style="display:block;background:#000"></video>
<div id="status"></div>
</body></html>"""

# Starts hls.js on a master playlist URL and records what happens in `window.player`. No cookies,
# no headers: the player gets the URL and nothing else.
_START = """(masterUrl) => {
  const video = document.getElementById('video');
  const player = window.player = {errors: [], switches: [], fragments: [], levels: [], subtitleTracks: [], cues: []};
  const status = () => {
    document.getElementById('status').textContent =
      `t=${video.currentTime.toFixed(2)} level=${window.hls ? window.hls.currentLevel : '-'} ` +
      `picture=${video.videoWidth}x${video.videoHeight} ` +
      `switches=${JSON.stringify(player.switches)} errors=${player.errors.length}`;
  };
  if (!Hls.isSupported()) {
    player.errors.push({type: 'setup', details: 'Hls.isSupported() is false', fatal: true});
    return;
  }
  const hls = window.hls = new Hls();
  hls.on(Hls.Events.ERROR, (event, data) => {
    player.errors.push({
      type: data.type, details: data.details, fatal: data.fatal, at: video.currentTime,
      url: data.url || (data.frag && data.frag.url) || (data.context && data.context.url) || null,
      status: data.response ? data.response.code : null,
      reason: data.reason || (data.error ? String(data.error) : null),
    });
    status();
  });
  hls.on(Hls.Events.MANIFEST_PARSED, (event, data) => {
    player.levels = data.levels.map((level) => ({width: level.width, height: level.height, bitrate: level.bitrate}));
  });
  hls.on(Hls.Events.SUBTITLE_TRACKS_UPDATED, (event, data) => {
    player.subtitleTracks = data.subtitleTracks.map((track) => (
      {name: track.name, lang: track.lang, default: track.default, forced: track.forced}));
  });
  // Every cue as it becomes active, with where the video was at that moment.
  video.textTracks.addEventListener('addtrack', (event) => {
    const track = event.track;
    track.addEventListener('cuechange', () => {
      for (const cue of Array.from(track.activeCues || [])) {
        player.cues.push({text: cue.text, start: cue.startTime, end: cue.endTime, at: video.currentTime,
                          label: track.label, mode: track.mode});
      }
    });
  });
  hls.on(Hls.Events.LEVEL_SWITCHED, (event, data) => {
    player.switches.push({level: data.level, at: video.currentTime});
    status();
  });
  hls.on(Hls.Events.FRAG_LOADED, (event, data) => {
    player.fragments.push({level: data.frag.level, sn: data.frag.sn, url: data.frag.url, type: data.frag.type});
  });
  video.addEventListener('timeupdate', status);
  hls.loadSource(masterUrl);
  hls.attachMedia(video);
  video.play().catch((error) => player.errors.push({type: 'play', details: String(error), fatal: true}));
}"""

_STATE = """() => {
  const video = document.getElementById('video');
  const hls = window.hls;
  return {
    currentTime: video.currentTime, duration: video.duration, paused: video.paused, ended: video.ended,
    videoWidth: video.videoWidth, videoHeight: video.videoHeight,
    readyState: video.readyState, mediaError: video.error ? video.error.code + ' ' + video.error.message : null,
    currentLevel: hls ? hls.currentLevel : null, levelCount: hls ? hls.levels.length : 0,
    subtitleTrack: hls ? hls.subtitleTrack : null,
    ...(window.player || {}),
  };
}"""


class PlayerTimeout(AssertionError):
    pass


class HlsPlayer:
    """An hls.js player in a Playwright page, on the origin the page was opened at."""

    def __init__(self, page):
        self.page = page
        self.console: list[str] = []
        self.requests: list[dict] = []
        self.failed_requests: list[str] = []
        page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))
        page.on("request", lambda request: self.requests.append({"url": request.url, "headers": request.headers}))
        page.on("requestfailed", lambda request: self.failed_requests.append(f"{request.url}: {request.failure}"))

    def start(self, master_url: str) -> None:
        self.page.set_content(PLAYER_PAGE)
        self.page.add_script_tag(path=str(HLS_JS))
        self.page.evaluate(_START, master_url)

    def state(self) -> dict:
        return self.page.evaluate(_STATE)

    def wait_for(self, condition: str, *, timeout: float, what: str) -> dict:
        """Waits until the JS `condition` (over `video`, `hls`, `player`) holds, or a fatal error;
        on time-out fails with everything the page saw."""
        script = (
            "() => { const video = document.getElementById('video'); const hls = window.hls;"
            " const player = window.player || {errors: []};"
            f" return player.errors.some((error) => error.fatal) || ({condition}); }}"
        )
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_function(script, timeout=timeout * 1000, polling=100)
        except PlaywrightTimeout:
            raise PlayerTimeout(f"{what}: not within {timeout:.0f}s\n{self.report()}") from None
        return self.state()

    def switch_level(self, level: int) -> None:
        """Forces an immediate switch (the buffer is flushed and refilled from that rendition)."""
        self.page.evaluate("(level) => { window.hls.currentLevel = level; }", level)

    def report(self) -> str:
        state = self.state()
        state["fragments"] = [{k: v for k, v in f.items() if k != "url"} for f in state.get("fragments", [])]
        return (
            f"player state: {json.dumps(state, default=str)}\n"
            f"console: {json.dumps(self.console[-30:])}\n"
            f"failed requests: {json.dumps(self.failed_requests[-20:])}"
        )
