"""Answers and input of the catalog API: videos, categories, and what a new video's upload takes."""

from typing import cast

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from videos.catalog.access import ACCESS_CHOICES, FREE, GRANTED, plan_codes_of, plans_of
from videos.models import Category, TranscodeJob, Video
from vod.serializers import InputSerializer


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "slug"]
        read_only_fields = fields


class OwnerSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    username = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)


class VideoSerializer(serializers.ModelSerializer):
    owner = OwnerSerializer(read_only=True)
    category = CategorySerializer(read_only=True, allow_null=True)
    tags = serializers.SerializerMethodField()
    required_plans = serializers.SerializerMethodField()
    access = serializers.SerializerMethodField()
    poster_url = serializers.SerializerMethodField()
    poster_urls = serializers.SerializerMethodField()
    my_rating = serializers.SerializerMethodField()

    class Meta:
        model = Video
        fields = [
            "id",
            "title",
            "description",
            "tags",
            "category",
            "owner",
            "visibility",
            "status",
            "duration",
            "width",
            "height",
            "published_at",
            "is_featured",
            "view_count",
            "like_count",
            "dislike_count",
            "my_rating",
            "required_plans",
            "access",
            "poster_url",
            "poster_urls",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def _posters(self, video) -> dict:
        """From the `poster_urls` callable the view puts in the context (the playback signer, which the
        catalog does not import); without it, no URLs."""
        build = self.context.get("poster_urls")
        if build is None:
            return {"poster_url": None, "poster_urls": {}}
        memo = cast(dict, self.context).setdefault("posters_built", {})
        if video.pk not in memo:
            memo[video.pk] = build(video)
        return memo[video.pk]

    @extend_schema_field(
        serializers.URLField(
            allow_null=True,
            help_text="The uploaded poster at its largest width, else the generated one; signed like playback "
            "unless public. Null until ready.",
        )
    )
    def get_poster_url(self, video) -> str | None:
        return self._posters(video)["poster_url"]

    @extend_schema_field(
        serializers.DictField(child=serializers.URLField(), help_text="The uploaded poster by width (WebP).")
    )
    def get_poster_urls(self, video) -> dict[str, str]:
        return self._posters(video)["poster_urls"]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_tags(self, video) -> list[str]:
        names = getattr(video, "tag_names", None)  # annotated by the catalog's selectors (PostgreSQL)
        return list(names) if names is not None else [tag.name for tag in video.tags.all()]  # else prefetched

    @extend_schema_field(
        serializers.ListField(
            child=serializers.CharField(), help_text="Codes of the plans that unlock it; empty: free."
        )
    )
    def get_required_plans(self, video) -> list[str]:
        return plan_codes_of(video)

    @extend_schema_field(
        serializers.ChoiceField(
            ACCESS_CHOICES, allow_null=True, help_text="For the caller; null where not computed (history entries)."
        )
    )
    def get_access(self, video) -> str | None:
        return getattr(video, "access", None)  # annotated by the catalog's selectors

    @extend_schema_field(
        serializers.ChoiceField(
            ["like", "dislike"], allow_null=True, help_text="Mine, when signed in; null: none or not computed."
        )
    )
    def get_my_rating(self, video) -> str | None:
        return getattr(video, "my_rating", None)  # annotated by the catalog's selectors


class TranscodeJobSerializer(serializers.ModelSerializer):
    class Meta:
        model = TranscodeJob
        fields = ["id", "status", "progress", "attempts", "error", "created_at", "started_at", "finished_at"]
        read_only_fields = fields


class MyVideoSerializer(VideoSerializer):
    """What the owner (or staff) sees of a video, in every status, with its latest transcode."""

    transcode = serializers.SerializerMethodField()

    class Meta(VideoSerializer.Meta):
        fields = [*VideoSerializer.Meta.fields, "failure_reason", "source_size", "transcode"]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(ACCESS_CHOICES))
    def get_access(self, video) -> str:
        """The owner and staff always play (a fresh write's answer is not annotated)."""
        if hasattr(video, "access"):
            return video.access
        return GRANTED if plans_of(video) else FREE

    @extend_schema_field(TranscodeJobSerializer(allow_null=True))
    def get_transcode(self, video) -> dict | None:
        jobs = getattr(video, "jobs", None)  # prefetched by selectors.with_jobs
        if jobs is None:
            jobs = list(video.transcode_jobs.order_by("-created_at")[:1])
        return TranscodeJobSerializer(jobs[0]).data if jobs else None


class UploadOptionsSerializer(serializers.Serializer):
    single_url = serializers.URLField(help_text="PUT the whole file here (Content-Length required).")
    resumable_url = serializers.URLField(help_text="POST here to start a resumable upload in parts.")
    max_bytes = serializers.IntegerField()


class VideoCreatedSerializer(serializers.Serializer):
    video = MyVideoSerializer()
    upload = UploadOptionsSerializer()


class VideoInputSerializer(InputSerializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=5000, allow_blank=True, required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=40), max_length=20, required=False)
    category = serializers.SlugRelatedField(
        slug_field="slug", queryset=Category.objects.all(), allow_null=True, required=False
    )
    visibility = serializers.ChoiceField(Video.Visibility.choices, required=False)
    required_plans = serializers.ListField(
        child=serializers.CharField(max_length=50),
        max_length=20,
        required=False,
        help_text="Codes of the plans that unlock playback; empty: free.",
    )
