"""The catalog: videos, their categories and tags, and resumable source uploads."""

import uuid

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils import timezone

from videos import keys


class Category(models.Model):
    """Staff-managed shelves of the catalog."""

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self):
        return self.name


class Tag(models.Model):
    """A free-form label, stored lowercased so "Cats" and "cats" are one tag."""

    name = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class VideoQuerySet(models.QuerySet):
    def catalog(self) -> "VideoQuerySet":
        """What anyone may list: ready and public."""
        return self.filter(status=Video.Status.READY, visibility=Video.Visibility.PUBLIC)


class Video(models.Model):
    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public"
        UNLISTED = "unlisted", "Unlisted"
        PRIVATE = "private", "Private"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"  # metadata only, waiting for its source
        UPLOADED = "uploaded", "Uploaded"  # source stored, probed, waiting for transcoding
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="videos")
    title = models.CharField(max_length=200)
    description = models.TextField(max_length=5000, blank=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="videos")
    tags = models.ManyToManyField(Tag, blank=True, related_name="videos")
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.PRIVATE)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    failure_reason = models.TextField(blank=True)
    # The source as stored (the key never contains the uploader's file name) and as probed.
    source_key = models.CharField(max_length=255, blank=True)
    source_size = models.PositiveBigIntegerField(null=True, blank=True)
    source_sha256 = models.CharField(max_length=64, blank=True)
    source_info = models.JSONField(default=dict, blank=True, help_text="What ffprobe found: container, codecs.")
    duration = models.FloatField(null=True, blank=True, help_text="Seconds.")
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    # Bytes of everything derived from the source (renditions, poster, storyboard): counts to quota.
    derived_size = models.PositiveBigIntegerField(default=0)
    # The published HLS version: everything under `hls_prefix`; master playlist, poster and
    # storyboard keys point into it. A new transcode publishes a new prefix in one transaction.
    hls_prefix = models.CharField(max_length=255, blank=True)
    master_key = models.CharField(max_length=255, blank=True)
    poster_key = models.CharField(max_length=255, blank=True)
    storyboard_key = models.CharField(max_length=255, blank=True, help_text="WebVTT of the storyboard sprites.")
    # An uploaded poster (its WebP widths under `keys.poster_prefix`); preferred over the generated
    # `poster_key`, and kept across transcodes. None: the generated one.
    custom_poster_id = models.UUIDField(null=True, blank=True, editable=False)
    custom_poster_widths = models.JSONField(default=list, blank=True, editable=False)
    published_at = models.DateTimeField(null=True, blank=True)
    is_featured = models.BooleanField("featured", default=False, help_text="Picked by staff for the home page.")
    # The plans that unlock playback; none: free. A plan in use here cannot be deleted (PROTECT).
    required_plans = models.ManyToManyField(
        "accounts.Plan", through="VideoPlan", blank=True, related_name="videos", related_query_name="video"
    )
    view_count = models.PositiveBigIntegerField(default=0)
    # Moved with F() in the transaction that writes the Rating row; `rating_recount` repairs drift.
    like_count = models.PositiveIntegerField(default=0)
    dislike_count = models.PositiveIntegerField(default=0)
    search_vector = SearchVectorField(null=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = VideoQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "visibility", "-published_at"], name="videos_catalog_newest"),
            models.Index(fields=["status", "visibility", "-view_count"], name="videos_catalog_most_viewed"),
            models.Index(fields=["owner", "-created_at"], name="videos_owner_newest"),
            models.Index(fields=["owner", "-published_at"], name="videos_owner_published"),  # the feed
        ]

    def __str__(self):
        return self.title

    @property
    def storage_prefix(self) -> str:
        """Every object of this video lives under this prefix, so deleting it is one sweep."""
        return keys.video_prefix(self.id)

    def publish_if_due(self) -> None:
        """A video is published the first time it is both ready and public (the caller saves)."""
        if self.published_at is None and self.status == self.Status.READY and self.visibility == self.Visibility.PUBLIC:
            self.published_at = timezone.now()


class VideoPlan(models.Model):
    """A plan that unlocks a video. Protects the plan: deleting it would quietly make the video free."""

    id = models.BigAutoField(primary_key=True)
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="plan_links")
    plan = models.ForeignKey("accounts.Plan", on_delete=models.PROTECT, related_name="video_links")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["video", "plan"], name="videos_videoplan_unique")]

    def __str__(self):
        return f"{self.plan_id} unlocks {self.video_id}"


class Upload(models.Model):
    """A resumable multipart upload of a video's source: S3 multipart, or parts kept by the API."""

    class Backend(models.TextChoices):
        S3 = "s3", "S3 multipart"
        FILESYSTEM = "filesystem", "Parts through the API"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        ABORTED = "aborted", "Aborted"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="uploads")
    backend = models.CharField(max_length=16, choices=Backend.choices)
    key = models.CharField(max_length=255, help_text="Where the assembled source goes.")
    s3_upload_id = models.CharField(max_length=1024, blank=True)
    filename = models.CharField(max_length=255, blank=True, help_text="As the client named it; display only.")
    content_type = models.CharField(max_length=127, blank=True, help_text="As declared; never trusted.")
    size = models.PositiveBigIntegerField()
    part_size = models.PositiveBigIntegerField()
    part_count = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self):
        return f"upload {self.id} of {self.video_id} ({self.status})"

    def expected_part_size(self, number: int) -> int:
        """Every part is `part_size` bytes but the last, which holds the rest."""
        if number < self.part_count:
            return self.part_size
        return self.size - self.part_size * (self.part_count - 1)


class UploadPart(models.Model):
    """A part received by the API (filesystem backend; S3 keeps its own list)."""

    upload = models.ForeignKey(Upload, on_delete=models.CASCADE, related_name="parts")
    number = models.PositiveIntegerField()
    size = models.PositiveBigIntegerField()
    etag = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["upload", "number"], name="videos_uploadpart_unique")]

    def __str__(self):
        return f"part {self.number} of {self.upload_id}"


class Rendition(models.Model):
    """One rung of the published HLS ladder."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="renditions")
    name = models.CharField(max_length=32)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    bandwidth = models.PositiveIntegerField(help_text="Peak bits per second, as in the master playlist.")
    codecs = models.CharField(max_length=100)
    playlist_key = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-height"]
        constraints = [models.UniqueConstraint(fields=["video", "name"], name="videos_rendition_unique_name")]

    def __str__(self):
        return f"{self.name} of {self.video_id}"


class TranscodeJob(models.Model):
    """One request to (re)build a video's HLS ladder, and its attempts. A worker owns a running
    job through a lease it renews with each heartbeat; the reaper takes back expired leases."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="transcode_jobs")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    profile = models.CharField(max_length=64)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    worker = models.CharField(max_length=255, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    progress = models.FloatField(default=0)
    output_prefix = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    log_tail = models.TextField(blank=True, help_text="The end of ffmpeg's log, for failed attempts.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["video"],
                condition=models.Q(status__in=["queued", "running"]),
                name="videos_one_active_transcode_job",
            ),
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"])]

    def __str__(self):
        return f"transcode {self.id} of {self.video_id} ({self.status})"


class WatchProgress(models.Model):
    """Where a viewer stopped in a video: one row per viewer and video, upserted."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watch_progress")
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="watch_progress")
    position = models.FloatField(help_text="Seconds.")
    completed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [models.UniqueConstraint(fields=["user", "video"], name="videos_progress_one_per_viewer")]
        indexes = [models.Index(fields=["user", "-updated_at"], name="videos_progress_recent")]

    def __str__(self):
        return f"{self.user_id} at {self.position:.0f}s of {self.video_id}"


class Caption(models.Model):
    """A subtitle or caption track of a video: normalised WebVTT in storage, served as an HLS
    SUBTITLES rendition beside the published ladder (no transcode involved)."""

    class Kind(models.TextChoices):
        SUBTITLES = "subtitles", "Subtitles"  # the dialogue, translated or not
        CAPTIONS = "captions", "Captions"  # dialogue and sounds, for viewers who cannot hear them

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="captions")
    language = models.CharField(max_length=35, help_text="BCP 47 tag, e.g. en, pt-BR, zh-Hant.")
    label = models.CharField(max_length=100, help_text="The name players show.")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.SUBTITLES)
    is_default = models.BooleanField("default", default=False)
    key = models.CharField(max_length=255, editable=False)
    cue_count = models.PositiveIntegerField(default=0, editable=False)
    size = models.PositiveIntegerField(default=0, editable=False, help_text="Bytes of the stored WebVTT.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["language", "kind", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["video", "language", "kind"], name="videos_caption_one_per_language_kind"),
            models.UniqueConstraint(
                fields=["video"], condition=models.Q(is_default=True), name="videos_caption_one_default"
            ),
        ]

    def __str__(self):
        return f"{self.label} ({self.language}, {self.kind})"


class Playlist(models.Model):
    """A user's ordered list of videos; `watch_later` is the one built-in playlist each user has."""

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public"
        UNLISTED = "unlisted", "Unlisted"
        PRIVATE = "private", "Private"

    class Kind(models.TextChoices):
        REGULAR = "regular", "Regular"
        WATCH_LATER = "watch_later", "Watch later"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="playlists")
    title = models.CharField(max_length=200)
    description = models.TextField(max_length=5000, blank=True)
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.PRIVATE)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.REGULAR)
    item_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner"], condition=models.Q(kind="watch_later"), name="videos_playlist_one_watch_later"
            )
        ]
        indexes = [models.Index(fields=["owner", "-created_at"], name="videos_playlist_owner_newest")]

    def __str__(self):
        return self.title


class PlaylistItem(models.Model):
    """A video at a 1-based position; positions stay dense 1..N (every write locks the playlist)."""

    id = models.BigAutoField(primary_key=True)
    playlist = models.ForeignKey(Playlist, on_delete=models.CASCADE, related_name="items")
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="playlist_items")
    position = models.PositiveIntegerField()
    start_s = models.FloatField(null=True, blank=True, help_text="Seconds.")
    stop_s = models.FloatField(null=True, blank=True, help_text="Seconds.")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["playlist", "position"]
        constraints = [
            # Deferred: a shift moves many positions in one UPDATE, checked at commit.
            models.UniqueConstraint(
                fields=["playlist", "position"],
                name="videos_playlistitem_position_unique",
                deferrable=models.Deferrable.DEFERRED,
            )
        ]

    def __str__(self):
        return f"{self.playlist_id} #{self.position}"


class Rating(models.Model):
    """One like or dislike per user and video."""

    class Value(models.TextChoices):
        LIKE = "like", "Like"
        DISLIKE = "dislike", "Dislike"

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ratings")
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="ratings")
    value = models.CharField(max_length=8, choices=Value.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [models.UniqueConstraint(fields=["user", "video"], name="videos_rating_unique")]

    def __str__(self):
        return f"{self.user_id} {self.value}s {self.video_id}"


class Follow(models.Model):
    """A user following a channel (another user)."""

    id = models.BigAutoField(primary_key=True)
    follower = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows")
    channel = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="followers")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["follower", "channel"], name="videos_follow_unique"),
            models.CheckConstraint(condition=~models.Q(follower=models.F("channel")), name="videos_follow_not_self"),
        ]

    def __str__(self):
        return f"{self.follower_id} follows {self.channel_id}"
