"""The image's gunicorn settings (vod/gunicorn_conf.py), run for real: threaded workers, JSON log
lines with ISO-8601 times, and one access line per request."""

import json
import os
import re

import pytest

from benchmarks.common import gunicorn, request

ISO_8601 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$")
PART_URL = "/api/v1/uploads/00000000-0000-0000-0000-000000000000/parts/1?token=secret-part-token"


def served_lines(tmp_path, **env) -> list[dict]:
    """What gunicorn with the image's settings writes while it answers one part-upload URL."""
    log = tmp_path / "gunicorn.log"
    environment = {**os.environ, "LOG_FORMAT": "json", "GUNICORN_WORKERS": "1", **env}
    with gunicorn(["-c", "python:vod.gunicorn_conf"], log, env=environment) as (_, port):
        status, _ = request(port, "PUT", PART_URL, body={})
        assert status in (400, 401, 403, 404)
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # a line that is not JSON fails here


@pytest.mark.django_db
def test_gunicorn_logs_json_lines_and_leaves_the_access_line_to_the_app(tmp_path):
    records = served_lines(tmp_path)
    assert records and all(ISO_8601.match(record["time"]) for record in records), records[:3]
    assert any("Using worker: gthread" in record["message"] for record in records)
    # the one access line of the request is the app's, with the path and no query
    part_lines = [record for record in records if "/parts/1" in record["message"]]
    assert [record["logger"] for record in part_lines] == ["vod.request"], part_lines
    assert "secret-part-token" not in json.dumps(records)


@pytest.mark.django_db
def test_gunicorns_own_access_log_when_asked_redacts_tokens(tmp_path):
    records = served_lines(tmp_path, GUNICORN_ACCESS_LOG="-")
    access = [record for record in records if record["logger"] == "gunicorn.access" and "/parts/1" in record["url"]]
    assert len(access) == 1, records
    assert access[0]["url"].endswith("/parts/1?token=[redacted]") and access[0]["method"] == "PUT"
    assert ISO_8601.match(access[0]["time"]) and "secret-part-token" not in json.dumps(records)
