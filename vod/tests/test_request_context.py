import json
import logging

from pythonjsonlogger.json import JsonFormatter


def test_each_response_carries_a_fresh_request_id(client):
    first = client.get("/health/live")["X-Request-ID"]
    second = client.get("/health/live")["X-Request-ID"]
    assert len(first) == 32 and first != second


def test_a_proxys_request_id_is_kept(client):
    response = client.get("/health/live", HTTP_X_REQUEST_ID="edge-1234-abcd")
    assert response["X-Request-ID"] == "edge-1234-abcd"


def test_an_unsafe_request_id_is_replaced(client):
    forged = "x\nFAKE LOG LINE level=ERROR"
    response = client.get("/health/live", HTTP_X_REQUEST_ID=forged)
    assert response["X-Request-ID"] != forged
    assert len(response["X-Request-ID"]) == 32


def test_request_log_line_is_json_with_the_request_id(client, caplog):
    # given the production log format
    formatter = JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s")
    caplog.set_level(logging.INFO, logger="vod.request")
    # when a request is served
    response = client.get("/health/live")
    # then its access line renders as one JSON object with the request's id and status
    record = next(r for r in caplog.records if r.name == "vod.request")
    line = json.loads(formatter.format(record))
    assert line["request_id"] == response["X-Request-ID"]
    assert line["status"] == 200 and line["path"] == "/health/live"
