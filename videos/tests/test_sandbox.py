"""ffmpeg and ffprobe run with a minimal environment and rlimits (videos/pipeline/sandbox.py)."""

import os

import pytest

from videos.pipeline import probing, sandbox


def test_media_tools_see_no_secrets_and_run_under_limits(settings, monkeypatch):
    # given a worker whose environment holds secrets
    for name in ("DATABASE_URL", "SECRET_KEY", "S3_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "do-not-leak")
    settings.FFPROBE_CPU_SECONDS, settings.MEDIA_TOOL_MAX_FILE_BYTES = 7, 1024 * 1024

    # when a tool runs in the sandbox
    result = sandbox.run(["sh", "-c", "env; echo cpu=$(ulimit -t) fsize=$(ulimit -f)"], timeout=30)

    # then it sees only PATH and LANG, and the CPU time and file size are capped
    lines = result.stdout.decode().split()
    assert "do-not-leak" not in result.stdout.decode()
    assert {line.split("=")[0] for line in lines if not line.startswith(("cpu=", "fsize="))} <= {"PATH", "LANG", "PWD"}
    assert "cpu=7" in lines and "fsize=2048" in lines  # ulimit -f counts 512-byte blocks


def test_a_file_larger_than_the_limit_cannot_be_written(settings, tmp_path):
    settings.MEDIA_TOOL_MAX_FILE_BYTES = 64 * 1024
    target = tmp_path / "big"
    result = sandbox.run(["sh", "-c", f"head -c 1000000 /dev/zero > {target}"], timeout=30)
    assert result.returncode != 0
    assert target.stat().st_size <= 64 * 1024


def test_the_probe_runs_in_the_sandbox(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(sandbox, "environment", lambda: calls.append("env") or {"PATH": os.environ["PATH"]})
    with pytest.raises(probing.NotPlayableMedia):
        probing.probe(tmp_path / "missing.mp4")
    assert calls == ["env"]
