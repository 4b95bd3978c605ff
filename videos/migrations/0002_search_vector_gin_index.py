"""A GIN index on the search vector, on PostgreSQL only (SQLite, for `make run`, searches plainly)."""

from django.db import migrations

INDEX = "videos_video_search_vector_gin"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON videos_video USING gin (search_vector)")


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("videos", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index)]
