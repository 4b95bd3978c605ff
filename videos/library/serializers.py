"""Answers and input of the library API."""

from functools import cached_property

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import AvatarUrlsField
from videos.catalog.serializers import VideoSerializer
from videos.library.services import NONE
from videos.models import Playlist, PlaylistItem, Rating
from vod.serializers import InputSerializer, refuse_control_characters


class ChannelOwnerSerializer(serializers.Serializer):
    username = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)


class PlaylistSerializer(serializers.ModelSerializer):
    owner = ChannelOwnerSerializer(read_only=True)

    class Meta:
        model = Playlist
        fields = ["id", "title", "description", "visibility", "kind", "item_count", "owner", "created_at", "updated_at"]
        read_only_fields = fields


class PlaylistInputSerializer(InputSerializer):
    title = serializers.CharField(max_length=200, validators=[refuse_control_characters])
    description = serializers.CharField(max_length=5000, allow_blank=True, required=False)
    visibility = serializers.ChoiceField(Playlist.Visibility.choices, required=False)


class PlaylistItemSerializer(serializers.ModelSerializer):
    video = serializers.SerializerMethodField()
    unavailable = serializers.SerializerMethodField()

    class Meta:
        model = PlaylistItem
        fields = ["id", "position", "start_s", "stop_s", "added_at", "unavailable", "video"]
        read_only_fields = fields

    @cached_property
    def _video(self) -> VideoSerializer:
        """One video serializer for the page (a list shares this child), with the view's context
        for poster URLs: building one per row cost more than the row's data."""
        return VideoSerializer(context=self.context)

    @extend_schema_field(VideoSerializer(allow_null=True))
    def get_video(self, item) -> dict | None:
        return self._video.to_representation(item.video) if getattr(item, "visible", False) else None

    @extend_schema_field(
        serializers.BooleanField(help_text="The video is private, not ready or gone for me: no details.")
    )
    def get_unavailable(self, item) -> bool:
        return not getattr(item, "visible", False)


class ItemAddSerializer(InputSerializer):
    video_id = serializers.UUIDField()
    position = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False, help_text="1-based.")
    start_s = serializers.FloatField(min_value=0, max_value=10**7, required=False, allow_null=True)
    stop_s = serializers.FloatField(min_value=0, max_value=10**7, required=False, allow_null=True)

    def validate(self, attrs: dict) -> dict:
        start, stop = attrs.get("start_s"), attrs.get("stop_s")
        if start is not None and stop is not None and stop <= start:
            raise serializers.ValidationError({"stop_s": ["After start_s."]})
        return attrs


class ReorderSerializer(InputSerializer):
    start_position = serializers.IntegerField(min_value=1, max_value=1_000_000)
    insert_after_position = serializers.IntegerField(min_value=0, max_value=1_000_000, help_text="0: before the first.")
    reorder_length = serializers.IntegerField(min_value=1, max_value=1_000_000, default=1, required=False)


class PlaylistMembershipSerializer(serializers.Serializer):
    playlist_id = serializers.UUIDField()
    item_id = serializers.IntegerField()
    position = serializers.IntegerField()


class ContainsSerializer(serializers.Serializer):
    videos = serializers.DictField(
        child=PlaylistMembershipSerializer(many=True), help_text="Video id -> where it sits in my playlists."
    )


class RatingInputSerializer(InputSerializer):
    rating = serializers.ChoiceField([*Rating.Value.values, NONE])


class RatingSerializer(serializers.Serializer):
    rating = serializers.ChoiceField([*Rating.Value.values, NONE])
    like_count = serializers.IntegerField()
    dislike_count = serializers.IntegerField()


class LikedSerializer(serializers.ModelSerializer):
    video = serializers.SerializerMethodField()
    unavailable = serializers.SerializerMethodField()
    liked_at = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = Rating
        fields = ["id", "liked_at", "unavailable", "video"]
        read_only_fields = fields

    _video = PlaylistItemSerializer._video
    get_video = PlaylistItemSerializer.get_video
    get_unavailable = PlaylistItemSerializer.get_unavailable


class ChannelVideoSerializer(VideoSerializer):
    """A catalog video, named apart so the schema's example page link is the channel's."""


class FeedVideoSerializer(VideoSerializer):
    """A catalog video, named apart so the schema's example page link is the feed's."""


class ChannelSerializer(serializers.Serializer):
    """A public profile: never the email."""

    username = serializers.CharField()
    display_name = serializers.CharField()
    avatar_urls = AvatarUrlsField()
    follower_count = serializers.IntegerField()
    public_video_count = serializers.IntegerField()
    joined_at = serializers.DateTimeField(source="created_at")


class FollowedChannelSerializer(serializers.Serializer):
    channel = ChannelOwnerSerializer()
    followed_at = serializers.DateTimeField(source="created_at")


class FollowerSerializer(serializers.Serializer):
    follower = ChannelOwnerSerializer()
    followed_at = serializers.DateTimeField(source="created_at")
