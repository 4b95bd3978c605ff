"""`make compose-smoke`: the compose stack as docker-compose.yml writes it, run here without a
container engine, and one user's journey through its front door.

1. A local-trial `.env` (the committed `.env.example` with plain-http addresses on a free port, a
   fresh SECRET_KEY, the SMTP sink, a first staff user) goes into a scratch project folder beside
   copies of docker-compose.yml and the Caddyfile; `docker-compose config` (Debian's package parses
   compose files without an engine) checks and resolves them. Everything below reads that output.
2. The third-party images have stand-ins on loopback: PostgreSQL, Redis (redis-server with the
   service's own command), moto for MinIO (and for `createbucket`, whose `mc` steps are MinIO's
   own), Caddy from Debian for `proxy`, with the committed Caddyfile. Service addresses map to
   free loopback ports (`postgres:5432` -> `127.0.0.1:NNNN`), named volumes to folders, and the
   published port 80 to the trial's port.
3. Each service built from this repository (migrate, configure-storage, web, worker,
   transcode-worker, beat) runs its command as written, with its resolved environment, in
   depends_on order: one-shot services must exit 0, `web` must pass its own healthcheck.
4. One journey, from outside and through the proxy only: sign up (the code from the SMTP sink);
   a resumable upload whose parts go straight to storage through the public endpoint; the
   transcode by the transcode worker; playback with hls.js in Chromium; the admin (the staff user
   from `createsuperuser --noinput`, two-factor enrolment, the video in the list); `vod_status`.

Not part of `make test`: it takes a few minutes and holds a port for Caddy.
"""

import contextlib
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

import with_services as services  # noqa: E402 (scripts/ is not a package)

VENV_BIN = Path(sys.executable).parent
PASSWORD = "compose-smoke-passphrase-1"  # noqa: S105 (the trial's own accounts)
READY_TIMEOUT = 300  # seconds for probe + transcode of the clip on a shared machine
started = time.monotonic()


def say(message: str) -> None:
    print(f"[{time.monotonic() - started:6.1f}s] {message}", flush=True)


# --- 1. the trial's .env and `docker-compose config` -----------------------------------------------


def trial_env(port: int, smtp_url: str) -> dict[str, str]:
    """What an operator changes in `.env.example` for a plain-http trial on this machine."""
    site, storage_site = f"http://localhost:{port}", f"http://storage.localhost:{port}"
    return {
        "VOD_SITE_ADDRESS": site,
        "VOD_STORAGE_ADDRESS": storage_site,
        "S3_PUBLIC_ENDPOINT_URL": storage_site,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "localhost",
        "CSRF_TRUSTED_ORIGINS": site,
        "CORS_ALLOWED_ORIGINS": site,
        "FRONTEND_URL": site,
        "EMAIL_URL": smtp_url,
        "DJANGO_SUPERUSER_EMAIL": "admin@example.com",
        "DJANGO_SUPERUSER_USERNAME": "admin",
        "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
        "UPLOAD_PART_SIZE": str(5 * 1024**2),  # S3's smallest, so the clip goes in two parts
    }


def write_env(example: Path, target: Path, values: dict[str, str]) -> None:
    """`.env.example` with these variables set (uncommented where they were commented out)."""
    lines, seen = [], set()
    for line in example.read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=", line)
        if match and match.group(1) in values:
            name = match.group(1)
            lines.append(f"{name}={values[name]}")
            seen.add(name)
        else:
            lines.append(line)
    missing = set(values) - seen
    if missing:
        raise SystemExit(f".env.example does not list {sorted(missing)}")
    target.write_text("\n".join(lines) + "\n")


def compose_config(project: Path) -> dict:
    result = subprocess.run(["docker-compose", "config"], cwd=project, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"docker-compose config failed:\n{result.stderr}")
    config = yaml.safe_load(result.stdout)
    say(f"docker-compose config: ok, services {', '.join(sorted(config['services']))}")
    return config


# --- 2. stand-ins and the loopback map ---------------------------------------------------------------


class Stack:
    """The running services: addresses, volume folders, processes (stopped by the ExitStack)."""

    def __init__(self, stack: ExitStack, root: Path, config: dict, project: Path):
        self.stack, self.root, self.config, self.project = stack, root, config, project
        self.addresses: dict[str, str] = {}  # "postgres:5432" -> "127.0.0.1:40123"
        self.processes: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}
        (root / "logs").mkdir()

    def service(self, name: str) -> dict:
        return self.config["services"][name]

    def map_address(self, service: str, container_port: int) -> int:
        port = services.free_port()
        self.addresses[f"{service}:{container_port}"] = f"127.0.0.1:{port}"
        return port

    def volume_paths(self, name: str) -> dict[str, str]:
        """Container path -> folder, for the service's volumes (named ones become folders)."""
        paths = {}
        for volume in self.service(name).get("volumes", []):
            source, target = (volume["source"], volume["target"]) if isinstance(volume, dict) else volume.split(":")[:2]
            if "/" not in source:  # a named volume
                folder = self.root / "volumes" / source
                folder.mkdir(parents=True, exist_ok=True)
                source = str(folder)
            paths[target] = source
        return paths

    def translate(self, name: str, text: str, own_ports: dict[str, str] | None = None) -> str:
        """A value or command of service `name` as it reads here: addresses and paths mapped."""
        for address, local in {**self.addresses, **(own_ports or {})}.items():
            text = text.replace(address, local)
        for container_path, folder in self.volume_paths(name).items():
            text = re.sub(rf"(?<![\w/]){re.escape(container_path)}(?=/|\s|$)", folder, text)
        return text.replace("/app/var", str(self.root / "app-var"))  # the image's writable folder

    def environment(self, name: str, own_ports: dict[str, str] | None = None) -> dict[str, str]:
        env = {
            key: self.translate(name, "" if value is None else str(value), own_ports)
            for key, value in (self.service(name).get("environment") or {}).items()
        }
        # The image's PATH has its Python first, and its HOME is /app; here the venv's and the scratch root.
        return {**env, "PATH": f"{VENV_BIN}:{os.environ['PATH']}", "HOME": str(self.root), "LANG": "C.UTF-8"}

    def command(self, name: str, own_ports: dict[str, str] | None = None) -> list[str]:
        command = self.service(name)["command"]
        parts = shlex.split(command) if isinstance(command, str) else list(command)
        return [self.translate(name, part, own_ports) for part in parts]

    def spawn(self, name: str, args: list[str], env: dict, cwd: Path = ROOT) -> subprocess.Popen:
        log = self.root / "logs" / f"{name}.log"
        self.logs[name] = log
        process = services.spawn(self.stack, args, log, env=env, cwd=cwd)
        self.processes[name] = process
        return process

    def run_once(self, name: str, args: list[str], env: dict, timeout: float = 300) -> str:
        result = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        output = result.stdout + result.stderr
        (self.root / "logs" / f"{name}.log").write_text(output)
        if result.returncode != 0:
            raise SystemExit(f"{name}: `{shlex.join(args)}` exited {result.returncode}:\n{output[-4000:]}")
        return output

    def tail(self, name: str, lines: int = 40) -> str:
        log = self.logs.get(name) or self.root / "logs" / f"{name}.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


def start_postgres(stack: Stack) -> None:
    """with_services' throw-away cluster, with the role and database the service's environment names."""
    env = stack.service("postgres")["environment"]
    url = services.start_postgres(stack.stack, stack.root)  # postgres://postgres@127.0.0.1:PORT/vod
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    stack.addresses["postgres:5432"] = f"127.0.0.1:{port}"
    psql = services.postgres_bin_dir() / "psql"
    sql = (
        f"CREATE ROLE {env['POSTGRES_USER']} LOGIN PASSWORD '{env['POSTGRES_PASSWORD']}';"
        f" ALTER DATABASE {env['POSTGRES_DB']} OWNER TO {env['POSTGRES_USER']};"
    )
    subprocess.run(
        [psql, "-q", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "vod", "-c", sql], check=True
    )
    say(f"postgres: stand-in PostgreSQL on {stack.addresses['postgres:5432']}, role and database {env['POSTGRES_DB']}")


def start_redis(stack: Stack) -> None:
    """redis-server with the service's own command (append-only file on the volume)."""
    port = stack.map_address("redis", 6379)
    data = stack.volume_paths("redis")["/data"]
    args = [*stack.command("redis"), "--port", str(port), "--bind", "127.0.0.1", "--dir", data]
    process = stack.spawn("redis", args, env={"PATH": os.environ["PATH"]}, cwd=Path(data))
    services.wait_for_port(port, "redis-server", process)
    appendonly = subprocess.run(
        ["redis-cli", "-p", str(port), "config", "get", "appendonly"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert appendonly == ["appendonly", "yes"], appendonly
    say(f"redis: `{shlex.join(args[:5])} ...` on {stack.addresses['redis:6379']}, appendonly yes, data in the volume")


def start_storage(stack: Stack) -> None:
    """moto for MinIO (path-style, as MinIO answers), and createbucket's bucket."""
    os.environ["S3_IGNORE_SUBDOMAIN_BUCKETNAME"] = "true"  # `storage.localhost` is a host, not a bucket
    endpoint = services.start_moto(stack.stack, stack.root)
    stack.addresses["minio:9000"] = endpoint.removeprefix("http://")
    import boto3

    env = stack.environment("web")
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=env["S3_ACCESS_KEY_ID"],
        aws_secret_access_key=env["S3_SECRET_ACCESS_KEY"],
        region_name=env["S3_REGION"],
    )
    s3.create_bucket(Bucket=env["S3_BUCKET"])
    say(f"minio: stand-in moto on {stack.addresses['minio:9000']}")
    say(f"createbucket: bucket {env['S3_BUCKET']} (its `mc` user and policy steps are MinIO's; moto checks no keys)")


def start_proxy(stack: Stack, port: int) -> None:
    """Caddy from Debian with the committed Caddyfile and the proxy service's environment."""
    volumes = stack.volume_paths("proxy")
    env = {
        **stack.environment("proxy"),
        "XDG_DATA_HOME": volumes["/data"],  # what the caddy image sets
        "XDG_CONFIG_HOME": volumes["/config"],
    }
    http = next(p for p in stack.service("proxy")["ports"] if p["target"] == 80 and p.get("protocol", "tcp") == "tcp")
    args = stack.command("proxy")
    process = stack.spawn("proxy", args, env=env)
    services.wait_for_port(port, "caddy", process)
    say(f"proxy: `{shlex.join(args)}` (Caddy {caddy_version()}), its published port {http['published']} here {port}")


def caddy_version() -> str:
    return subprocess.run(["caddy", "version"], capture_output=True, text=True).stdout.split()[0]


# --- 3. the services built from this repository ----------------------------------------------------------


def build_static() -> None:
    """The image's build step that the services need: `collectstatic` as the Dockerfile runs it
    (into var/static, which is the image's /app/var/static)."""
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    line = next(line for line in lines if line.startswith("RUN ") and "collectstatic" in line)
    words = shlex.split(line.removeprefix("RUN ").split("&&")[0].rstrip(" \\"))
    assignment = re.compile(r"^[A-Z_]+=")
    env = dict(word.split("=", 1) for word in words if assignment.match(word))
    args = [str(VENV_BIN / "python") if word == "python" else word for word in words if not assignment.match(word)]
    env = {**env, "VOD_ENV": "production", "PATH": os.environ["PATH"]}
    subprocess.run(args, env=env, cwd=ROOT, check=True, capture_output=True)
    say(f"build: `{shlex.join(words)}` (the Dockerfile's step)")


def app_services(config: dict) -> list[str]:
    """Services built from this repository, in depends_on order."""
    built = {name for name, service in config["services"].items() if "build" in service}
    ordered: list[str] = []

    def visit(name: str) -> None:
        if name in ordered or name not in built:
            return
        for dependency in config["services"][name].get("depends_on", {}):
            visit(dependency)
        ordered.append(name)

    for name in sorted(built):
        visit(name)
    return ordered


def own_ports(stack: Stack, name: str) -> dict[str, str]:
    """The service's exposed ports, on loopback: how it binds, and how its healthcheck calls it."""
    mapped = {}
    for exposed in stack.service(name).get("expose", []):
        local = stack.addresses.get(f"{name}:{exposed}") or f"127.0.0.1:{stack.map_address(name, int(exposed))}"
        for host in ("0.0.0.0", "127.0.0.1", "localhost"):  # noqa: S104 (what the service binds, mapped)
            mapped[f"{host}:{exposed}"] = local
    return mapped


def wait_healthy(stack: Stack, name: str, ports: dict[str, str], timeout: float = 90) -> None:
    test = stack.service(name)["healthcheck"]["test"]
    args = [stack.translate(name, part, ports) for part in test[1:]] if test[0] == "CMD" else ["sh", "-c", test[1]]
    deadline = time.monotonic() + timeout
    while subprocess.run(args, env=stack.environment(name, ports), cwd=ROOT, capture_output=True).returncode != 0:
        if stack.processes[name].poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{name} never passed its healthcheck:\n{stack.tail(name)}")
        time.sleep(1)
    say(f"{name}: healthy (its healthcheck `{shlex.join(args)[:90]}...`)")


def start_app(stack: Stack, name: str) -> None:
    service = stack.service(name)
    ports = own_ports(stack, name)
    args, env = stack.command(name, ports), stack.environment(name, ports)
    if service.get("restart") == "no":  # one-shot: must exit 0
        output = stack.run_once(name, args, env)
        last = output.strip().splitlines()[-1] if output.strip() else ""
        say(f"{name}: `{shlex.join(args)}` exited 0: {last[:150]}")
        return
    stack.spawn(name, args, env)
    if "healthcheck" in service:
        wait_healthy(stack, name, ports)
    else:
        say(f"{name}: `{shlex.join(args)}` started")


def wait_for_workers(stack: Stack, names: list[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    for name in names:
        while "ready." not in stack.tail(name, 400):
            if stack.processes[name].poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{name} did not become ready:\n{stack.tail(name)}")
            time.sleep(0.5)
    say(f"workers ready: {', '.join(names)}")


# --- 4. the journey -----------------------------------------------------------------------------------


def resolve_localhost_names() -> None:
    """`*.localhost` is loopback (RFC 6761), as browsers and curl resolve it; this libc does not."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if isinstance(host, str) and (host == "localhost" or host.endswith(".localhost")):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo


def make_clip(path: Path) -> Path:
    """8 s of 854x480 with audio at ~7 Mb/s: big enough for two 5 MiB parts."""
    args = [
        "ffmpeg",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=854x480:rate=25:duration=8",
    ]
    args += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=8", "-c:a", "aac", "-b:a", "64k"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-b:v", "7M", "-pix_fmt", "yuv420p", "-shortest", str(path)]
    subprocess.run(args, check=True, timeout=300)
    return path


def journey(stack: Stack, env_values: dict[str, str], scratch: Path) -> None:
    import requests

    from testing import mailbox

    site, storage_site = env_values["VOD_SITE_ADDRESS"], env_values["VOD_STORAGE_ADDRESS"]
    api = f"{site}/api/v1"
    http = requests.Session()

    def call(method: str, url: str, expect: int, **kwargs) -> requests.Response:
        response = http.request(method, url, timeout=60, **kwargs)
        if response.status_code != expect:
            raise SystemExit(f"{method} {url}: {response.status_code} (expected {expect}): {response.text[:800]}")
        return response

    # 1. sign up, with the code from the email
    email = f"viewer-{secrets.token_hex(3)}@example.com"
    account = {"email": email, "username": email.split("@")[0], "password": PASSWORD}
    call("POST", f"{api}/auth/register", 201, json=account)
    code = mailbox.extract_code(mailbox.wait_for_message(email, timeout=60))
    verify = {"email": email, "code": code, "password": PASSWORD}
    forged = {"X-Forwarded-For": "203.0.113.9"}  # Caddy drops it: the app sees the peer Caddy saw
    tokens = call("POST", f"{api}/auth/verify-email", 200, json=verify, headers=forged)
    http.headers["Authorization"] = f"Bearer {tokens.json()['access']}"
    me = call("GET", f"{api}/users/me", 200).json()
    sessions = call("GET", f"{api}/sessions", 200).json()
    ips = [s["ip_address"] for s in (sessions["results"] if isinstance(sessions, dict) else sessions)]
    assert ips == ["127.0.0.1"], ips
    say(
        f"1. signed up through the proxy: {me['email']}, verified with the code the worker mailed ({code});"
        f" the session's IP is {ips[0]} (a forged X-Forwarded-For was dropped)"
    )

    # 2. a resumable upload, parts straight to storage through the public endpoint
    clip = make_clip(scratch / "clip.mp4")
    size = clip.stat().st_size
    video = call("POST", f"{api}/videos", 201, json={"title": "Compose smoke", "visibility": "private"}).json()["video"]
    upload = call(
        "POST", f"{api}/videos/{video['id']}/uploads", 201, json={"size": size, "filename": "clip.mp4"}
    ).json()
    targets = upload["parts_missing"]
    assert len(targets) >= 2 and all(t["url"].startswith(f"{storage_site}/") for t in targets), targets
    assert all("X-Amz-Signature=" in t["url"] and "X-Amz-Algorithm=AWS4-HMAC-SHA256" in t["url"] for t in targets)
    preflight = requests.options(
        targets[0]["url"],
        headers={
            "Origin": site,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=30,
    )
    allowed = preflight.headers.get("Access-Control-Allow-Origin")
    assert preflight.status_code == 200 and allowed in (site, "*"), (preflight.status_code, preflight.headers)
    data, parts = clip.read_bytes(), []
    for index, target in enumerate(targets):
        start = (target["number"] - 1) * upload["part_size"]
        answer = requests.put(target["url"], data=data[start : start + target["size"]], timeout=120)
        assert answer.status_code == 200, (answer.status_code, answer.text[:500])
        parts.append({"number": target["number"], "etag": answer.headers["ETag"]})
        if index == 0:  # resume: the API lists what storage received
            resumed = call("GET", f"{api}/uploads/{upload['id']}", 200).json()
            assert [p["number"] for p in resumed["parts_received"]] == [1], resumed
    call("POST", f"{api}/uploads/{upload['id']}/complete", 200, json={"parts": parts})
    say(
        f"2. resumable upload: {size} bytes in {len(parts)} parts PUT to {storage_site} (SigV4 presigned, CORS"
        f" preflight from {site} allowed), part 1 listed on resume, completed"
    )

    # 3. the transcode, by the transcode worker
    statuses: list[str] = []
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        current = call("GET", f"{api}/videos/{video['id']}", 200).json()["status"]
        if not statuses or statuses[-1] != current:
            statuses.append(current)
        if current in ("ready", "failed") or time.monotonic() > deadline:
            break
        time.sleep(1)
    if current != "ready":
        raise SystemExit(f"the video ended {current} ({statuses}):\n{stack.tail('transcode-worker', 60)}")
    worker_log = stack.tail("transcode-worker", 400)
    assert "videos.tasks.transcode_video" in worker_log and "succeeded" in worker_log, worker_log[-2000:]
    say(f"3. transcoded by transcode-worker: {' -> '.join(statuses)}")

    # 4. playback with hls.js in Chromium
    playback = call("GET", f"{api}/videos/{video['id']}/playback", 200).json()
    master_url = playback["master_url"]
    assert master_url.startswith(f"{api}/playback/"), master_url
    http.headers.pop("Authorization")
    played = play_in_chromium(site, master_url)
    media = [fragment["url"] for fragment in played["fragments"]]
    assert media and all(url.startswith(f"{storage_site}/") and "X-Amz-Signature=" in url for url in media), media
    say(
        f"4. hls.js in Chromium on {site} played to {played['currentTime']:.1f}s of {played['duration']:.1f}s,"
        f" {played['videoWidth']}x{played['videoHeight']}, {len(media)} segments presigned for {storage_site}"
    )

    # 5. the admin, with the first staff user from createsuperuser --noinput
    web_env = stack.environment("web", own_ports(stack, "web"))
    manage = [str(VENV_BIN / "python"), "manage.py"]
    stack.run_once("createsuperuser", [*manage, "createsuperuser", "--noinput"], web_env)
    seen = walk_admin(site, env_values["DJANGO_SUPERUSER_EMAIL"], env_values["DJANGO_SUPERUSER_PASSWORD"], video)
    say(f"5. admin: {seen}")

    # and the operator's view
    status = stack.run_once("vod_status", [*manage, "vod_status"], web_env)
    print(status.rstrip(), flush=True)
    say("vod_status: exit 0")


def play_in_chromium(site: str, master_url: str) -> dict:
    from testing import browser

    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with browser.chromium() as chromium:
        page = chromium.new_page(viewport={"width": 854, "height": 520})
        page.goto(f"{site}/health/live")  # the page's origin: the site, as a frontend's would be
        player = browser.HlsPlayer(page)
        try:
            player.start(master_url)
            state = player.wait_for("video.currentTime >= 3", timeout=60, what="playback to reach 3 s")
        finally:
            page.screenshot(path=str(artifacts / "compose-smoke-playback.png"))
    errors = [error for error in state["errors"] if not browser.harmless_player_error(error)]
    assert not errors and state["mediaError"] is None, player.report()
    return state


def walk_admin(site: str, email: str, password: str, video: dict) -> str:
    import pyotp

    from testing import browser

    artifacts = ROOT / "test-artifacts"
    with browser.chromium() as chromium:
        page = chromium.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(f"{site}/admin/login/?next=/admin/")
            page.fill("#id_username", email)
            page.fill("#id_password", password)
            page.click("input[type=submit]")
            page.wait_for_url(f"{site}/admin/two-factor/")  # STAFF_REQUIRE_2FA: enrol first
            page.fill("input[name=password]", password)
            page.click("input[type=submit][value*='Set up']")
            secret = page.locator("#two-factor-secret").inner_text().replace(" ", "")
            page.fill("input[name=code]", pyotp.TOTP(secret).now())
            page.click("input[type=submit][value*='Turn on']")
            codes = page.locator("#recovery-codes li").count()
            page.goto(f"{site}/admin/videos/video/")
            row = page.locator(f"input[name=_selected_action][value='{video['id']}']")
            assert row.is_visible(), page.content()[:2000]
            status = page.locator("#result_list tbody tr", has_text=video["title"]).inner_text()
            assert "Ready" in status, status
        finally:
            page.screenshot(path=str(artifacts / "compose-smoke-admin.png"), full_page=True)
    return f"signed in as {email}, enrolled in two-factor sign-in ({codes} recovery codes), the video listed Ready"


# --- the log lines -----------------------------------------------------------------------------------------

ISO_8601 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$")


def check_logs(stack: Stack) -> None:
    """web's output: JSON lines with ISO-8601 times, one access line per request (the app's)."""
    lines = [line for line in stack.logs["web"].read_text().splitlines() if line.strip()]
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            raise SystemExit(f"web wrote a line that is not JSON: {line[:300]}") from None
    assert all(ISO_8601.match(record.get("time", "")) for record in records), records[:3]
    access = [r for r in records if r.get("logger") == "vod.request"]
    assert not [r for r in records if r.get("logger") == "gunicorn.access"], "gunicorn's access log is on"
    assert not [r for r in access if "X-Amz-Signature" in r["message"] or re.search(r"playback/[^/\[]+/", r["message"])]
    booted = [r["message"] for r in records if r.get("logger") == "gunicorn.error"][:2]
    say(
        f"web logs: {len(records)} JSON lines, ISO-8601 times, {len(access)} request lines (the app's, tokens"
        f" redacted), none from gunicorn.access; {booted}"
    )


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    resolve_localhost_names()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vod.settings")  # testing.browser reads BASE_DIR
    with ExitStack() as exits:
        root = Path(tempfile.mkdtemp(prefix="vod-compose-smoke-"))
        exits.callback(shutil.rmtree, root, ignore_errors=True)
        project = root / "project"
        project.mkdir()
        for name in ("docker-compose.yml", "Caddyfile"):
            shutil.copy(ROOT / name, project / name)
        smtp_url, maildir = services.start_smtp_sink(exits, root)
        os.environ["SMTP_SINK_MAILDIR"] = str(maildir)
        port = services.free_port()
        env_values = trial_env(port, smtp_url)
        write_env(ROOT / ".env.example", project / ".env", env_values)
        say(
            f"project {project}: docker-compose.yml, Caddyfile, .env from .env.example"
            f" for {env_values['VOD_SITE_ADDRESS']}"
        )
        stack = Stack(exits, root, compose_config(project), project)
        try:
            build_static()
            start_postgres(stack)
            start_redis(stack)
            start_storage(stack)
            for name in app_services(stack.config):
                start_app(stack, name)
            wait_for_workers(stack, [n for n in ("worker", "transcode-worker") if n in stack.processes])
            start_proxy(stack, port)
            journey(stack, env_values, root)
            check_logs(stack)
        except BaseException:
            for name in stack.logs:
                print(f"--- {name} (last lines) ---\n{stack.tail(name, 25)}", file=sys.stderr)
            raise
        say("compose smoke: every service ran as written, and the journey passed")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
    sys.exit(130)
