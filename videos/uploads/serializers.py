"""Answers and input of resumable uploads."""

from rest_framework import serializers

from videos.models import Upload
from vod.serializers import InputSerializer


class UploadStartInputSerializer(InputSerializer):
    size = serializers.IntegerField(min_value=1, help_text="Total bytes of the file.")
    filename = serializers.CharField(max_length=255, allow_blank=True, required=False)
    content_type = serializers.CharField(max_length=127, allow_blank=True, required=False)


class PartReferenceSerializer(InputSerializer):
    number = serializers.IntegerField(min_value=1, max_value=10_000)
    etag = serializers.CharField(max_length=80)


class UploadCompleteInputSerializer(InputSerializer):
    parts = PartReferenceSerializer(many=True, max_length=10_000)  # type: ignore[call-arg]  # passed to the ListSerializer


class ReceivedPartSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    size = serializers.IntegerField()
    etag = serializers.CharField()


class PartTargetSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    size = serializers.IntegerField()
    url = serializers.URLField(help_text="PUT the part's bytes here; keep the ETag header of the answer.")


class UploadSerializer(serializers.ModelSerializer):
    video_id = serializers.UUIDField(read_only=True)
    parts_received = ReceivedPartSerializer(many=True, read_only=True)
    parts_missing = PartTargetSerializer(many=True, read_only=True)

    class Meta:
        model = Upload
        fields = [
            "id",
            "video_id",
            "status",
            "size",
            "part_size",
            "part_count",
            "expires_at",
            "parts_received",
            "parts_missing",
        ]
        read_only_fields = fields
