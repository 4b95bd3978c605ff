"""Celery tasks are found under names that do not depend on where their code lives."""

from django.conf import settings

from vod.celery import app

PROJECT_APPS = ("accounts.", "sessions_app.", "videos.", "vod.", "webhooks.")


def _project_tasks() -> dict:
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if name.startswith(PROJECT_APPS)}


def test_every_beat_entry_names_a_registered_task():
    registered = _project_tasks()
    assert {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()} <= registered.keys()


def test_every_task_is_registered_under_its_app_tasks_module_and_function_name():
    # The names queued messages carry: `<app>.tasks.<function>`, whichever module now holds the code.
    tasks = _project_tasks()
    assert "sessions_app.tasks.purge_expired_sessions" in tasks
    assert "videos.tasks.transcode_video" in tasks
    for name, task in tasks.items():
        app_label, module, function = name.split(".")
        assert (module, task.__name__) == ("tasks", function), name
        assert task.run.__module__ == f"{app_label}.tasks", name
