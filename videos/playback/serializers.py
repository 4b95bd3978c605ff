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


class PlaybackSerializer(serializers.Serializer):
    master_url = serializers.URLField(help_text="Give this to any HLS player as it is.")
    poster_url = serializers.URLField()
    storyboard_url = serializers.URLField(help_text="WebVTT of storyboard thumbnails (`#xywh=`).")
    duration = serializers.FloatField()
    expires_at = serializers.DateTimeField(allow_null=True, help_text="When the URLs stop working; null: never.")
    renditions = RenditionSerializer(many=True)


class ProgressInputSerializer(InputSerializer):
    position = serializers.FloatField(min_value=0, max_value=86_400, help_text="Seconds from the start.")


class ViewInputSerializer(InputSerializer):
    watched_seconds = serializers.FloatField(min_value=0, max_value=86_400)


class ProgressSerializer(serializers.Serializer):
    video = VideoSerializer()
    position = serializers.FloatField()
    completed = serializers.BooleanField()
    updated_at = serializers.DateTimeField()
