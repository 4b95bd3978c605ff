"""Answers and input of playback: signed URLs, progress, views and watch history."""

from rest_framework import serializers

from videos.catalog.serializers import VideoSerializer
from vod.serializers import InputSerializer


class RenditionSerializer(serializers.Serializer):
    name = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    bandwidth = serializers.IntegerField()
    codecs = serializers.CharField()


class CaptionTrackSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    language = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    kind = serializers.CharField()
    is_default = serializers.BooleanField()
    url = serializers.URLField(help_text="The track's WebVTT (for players that take side-loaded tracks).")
    playlist_url = serializers.URLField(help_text="Its HLS media playlist (the master playlist names it too).")


class PlaybackSerializer(serializers.Serializer):
    master_url = serializers.URLField(help_text="Give this to any HLS player as it is.")
    poster_url = serializers.URLField(help_text="The uploaded poster at its largest width, else the generated one.")
    poster_urls = serializers.DictField(
        child=serializers.URLField(), help_text="The uploaded poster by width (WebP); empty without one."
    )
    storyboard_url = serializers.URLField(help_text="WebVTT of storyboard thumbnails (`#xywh=`).")
    duration = serializers.FloatField()
    expires_at = serializers.DateTimeField(allow_null=True, help_text="When the URLs stop working; null: never.")
    renditions = RenditionSerializer(many=True)
    captions = CaptionTrackSerializer(many=True, help_text="Also in the master playlist, as its SUBTITLES group.")


class ProgressInputSerializer(InputSerializer):
    position = serializers.FloatField(min_value=0, max_value=86_400, help_text="Seconds from the start.")


class ViewInputSerializer(InputSerializer):
    watched_seconds = serializers.FloatField(min_value=0, max_value=86_400)


class ProgressSerializer(serializers.Serializer):
    video = VideoSerializer()
    position = serializers.FloatField()
    completed = serializers.BooleanField()
    updated_at = serializers.DateTimeField()
