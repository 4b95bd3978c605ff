"""`.env.example` (what docker-compose.yml reads as `.env`) lists every variable the settings read,
and nothing that nobody reads."""

import ast
import re
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


def env_reads(path: Path) -> set[str]:
    """Names read from the environment in a module: env("X"), env.str("X", ...), os.environ.get("X"),
    and "X" in env.ENVIRON."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = ast.unparse(node.func)
            if func == "env" or func.startswith("env.") or func in ("os.environ.get", "os.getenv"):
                names.add(node.args[0].value)
        if isinstance(node, ast.Compare) and isinstance(node.left, ast.Constant) and "ENVIRON" in ast.unparse(node):
            names.add(node.left.value)
    return {name for name in names if isinstance(name, str) and NAME.match(name)}


def example_names() -> set[str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return {match.group(1) for line in lines if (match := re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=", line))}


def compose_names() -> set[str]:
    """${X} interpolations in docker-compose.yml (not $$X, which the container's shell expands)."""
    return set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", (ROOT / "docker-compose.yml").read_text()))


def test_the_settings_read_no_variable_that_env_example_does_not_list():
    read = env_reads(ROOT / "vod" / "settings.py")
    assert {"SECRET_KEY", "DATABASE_URL", "S3_PUBLIC_ENDPOINT_URL", "JWT_SIGNING_KEY_FALLBACKS"} <= read  # it parses
    assert read - example_names() == set()


def test_env_example_lists_nothing_that_nobody_reads():
    readers = (
        env_reads(ROOT / "vod" / "settings.py")
        | env_reads(ROOT / "vod" / "gunicorn_conf.py")
        | compose_names()
        | {"DJANGO_SUPERUSER_EMAIL", "DJANGO_SUPERUSER_USERNAME", "DJANGO_SUPERUSER_PASSWORD"}  # createsuperuser
    )
    anymail = {name for name in example_names() if name.startswith("ANYMAIL_")}  # settings take every ANYMAIL_X
    assert example_names() - readers - anymail == set()
