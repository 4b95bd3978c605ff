"""The staff's content tool: videos (list, edit, upload, actions), categories and tags.

Every write goes through the services the API uses: uploads through `video_create_with_source`,
edits through `video_update`, deletes through `video_delete` (which cleans storage), re-transcodes
through `transcode_queue`. Permissions are Django's model permissions, so the "Content editors"
group (videos/roles.py) manages videos without seeing users or sessions.
"""

from typing import TYPE_CHECKING

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from accounts.models import Plan, User
from accounts.selectors import user_by_login
from videos.captions import services as caption_services
from videos.captions import webvtt
from videos.captions.services import canonical_language
from videos.catalog import services
from videos.catalog.selectors import with_latest_job
from videos.models import Caption, Category, Follow, Playlist, PlaylistItem, Rating, Rendition, Tag, TranscodeJob, Video
from videos.pipeline.jobs import transcode_queue
from videos.playback import signing
from videos.uploads.services import video_create_with_source
from vod.admin_confirmation import confirmation_page, confirmed
from vod.admin_messages import already_note, counted
from vod.admin_read_only import ReadOnlyAdminMixin, ReadOnlyInline
from vod.exceptions import ApplicationError

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise

Status = Video.Status
Job = TranscodeJob.Status
EDITABLE = ["title", "description", "category", "tags", "visibility", "is_featured"]


def _videos(count: int) -> str:
    return counted(count, "video")


class RenditionInline(ReadOnlyInline):
    model = Rendition
    fields = ["name", "width", "height", "bitrate", "codecs"]

    @admin.display(description="peak bitrate")
    def bitrate(self, obj) -> str:
        return f"{obj.bandwidth / 1000:,.0f} kbit/s"


class CaptionInlineForm(forms.ModelForm):
    """A track on the video's page: its fields, and a WebVTT or SRT file (required for a new one),
    checked as the API checks it; the inline's save goes through the captions services."""

    file = forms.FileField(required=False, help_text="WebVTT or SRT, UTF-8, up to 2 MB; replaces the text.")

    class Meta:
        model = Caption
        fields = ["language", "label", "kind", "is_default"]

    def clean_language(self) -> str:
        language = canonical_language(self.cleaned_data["language"])
        if language is None:
            raise forms.ValidationError("Not a BCP 47 tag of the form language[-Script][-REGION].")
        return language

    def clean_file(self) -> bytes | None:
        upload = self.cleaned_data.get("file")
        if upload is None:
            if self.instance._state.adding and self.has_changed():
                raise forms.ValidationError("A new track needs its file.")
            return None
        if upload.size > settings.CAPTION_MAX_BYTES:
            raise forms.ValidationError(f"Caption files are at most {filesizeformat(settings.CAPTION_MAX_BYTES)}.")
        data = upload.read()
        try:
            webvtt.parse(data, duration=self.instance.video.duration)
        except webvtt.CaptionFileInvalid as error:
            raise forms.ValidationError(str(error)) from None
        return data

    def validate_unique(self) -> None:
        """The services check one track per language and kind, and move the default."""


class CaptionFormSet(forms.BaseInlineFormSet):
    def validate_unique(self) -> None:
        """As the form's: the services decide (a default may move from one row to another)."""


class CaptionInline(admin.TabularInline):
    model = Caption
    form = CaptionInlineForm
    formset = CaptionFormSet
    fields = ["language", "label", "kind", "is_default", "file", "cue_count", "size"]
    readonly_fields = ["cue_count", "size"]
    extra = 0
    verbose_name = "caption track"

    def has_add_permission(self, request, obj=None) -> bool:
        return obj is not None and obj.duration is not None and self.has_change_permission(request, obj)


class TranscodeJobInline(ReadOnlyInline):
    model = TranscodeJob
    fields = ["status", "percent", "attempts", "worker", "created_at", "started_at", "finished_at", "error", "log"]
    verbose_name_plural = "transcode jobs"

    @admin.display(description="progress")
    def percent(self, obj) -> str:
        return f"{obj.progress:.0%}"

    @admin.display(description="ffmpeg log tail")
    def log(self, obj) -> str:
        """Only failed attempts keep a log; it is what an operator needs to see why."""
        if obj.status != Job.FAILED or not obj.log_tail:
            return "—"
        return format_html('<pre style="white-space:pre-wrap;max-width:60em;margin:0">{}</pre>', obj.log_tail)


class VideoUploadForm(forms.Form):
    """The admin's add form: a source file and the metadata the API's create takes."""

    source = forms.FileField(help_text="The video file; it is probed and transcoded in the background.")
    owner = forms.CharField(
        required=False,
        label="On behalf of",
        help_text="Username (or, for staff who may view users, email) of the owner. Leave empty to upload as yourself.",
    )
    title = forms.CharField(max_length=200, required=False, help_text="Defaults to the file name.")
    description = forms.CharField(max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 4}))
    category = forms.ModelChoiceField(Category.objects.all(), required=False)
    tags = forms.CharField(required=False, help_text="Comma-separated.")
    visibility = forms.ChoiceField(choices=Video.Visibility.choices, initial=Video.Visibility.PRIVATE)

    def __init__(self, *args, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.staff = staff

    def clean_owner(self) -> User:
        login = self.cleaned_data["owner"].strip()
        if not login:
            return self.staff
        may_see_emails = self.staff.has_perm("accounts.view_user")  # editors may not probe addresses
        owner = user_by_login(login) if may_see_emails or "@" not in login else None
        if owner is None or not owner.is_active:
            raise forms.ValidationError(
                "No active user with this email or username."
                if may_see_emails
                else "No active user with this username."
            )
        return owner

    def metadata(self) -> dict:
        data = self.cleaned_data
        return {
            "title": data["title"].strip() or data["source"].name.rsplit(".", 1)[0][:200] or "Untitled",
            "description": data["description"],
            "category": data["category"],
            "tags": data["tags"].split(","),
            "visibility": data["visibility"],
        }


class VideoChangeForm(forms.ModelForm):
    """The change form; what `video_update` would refuse is refused here first, on the form."""

    plans = forms.ModelMultipleChoiceField(
        queryset=Plan.objects.all(),
        required=False,
        widget=FilteredSelectMultiple("plans", is_stacked=False),
        help_text="Plans that unlock playback; none: free. Deactivated plans stay, but are not added anew.",
    )

    class Meta:
        model = Video
        fields = EDITABLE

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["plans"].initial = list(self.instance.required_plans.all())

    def clean_plans(self) -> QuerySet[Plan]:
        plans = self.cleaned_data["plans"]
        kept = set(self.fields["plans"].initial or [])
        inactive = [plan.code for plan in plans if not plan.is_active and plan not in kept]
        if inactive:
            raise forms.ValidationError(f"Deactivated plans cannot be added: {', '.join(inactive)}.")
        return plans

    def clean_tags(self) -> QuerySet[Tag]:
        tags = self.cleaned_data["tags"]
        if len(tags) > services.MAX_TAGS:
            raise forms.ValidationError(f"At most {services.MAX_TAGS} tags.")
        return tags


def _field_action(name: str, field: str, value, *, description: str, question: str, done: str, already: str):
    """An admin action that asks first, then sets one field through `video_update` on the selected
    videos that need it, and says how many changed and how many already had the value."""

    @admin.action(description=description, permissions=["change"])
    def action(modeladmin, request, queryset):
        if not confirmed(request):
            return modeladmin.confirm(request, queryset, action=name, title=description, question=question)
        videos = list(queryset)
        changing = [video for video in videos if getattr(video, field) != value]
        for video in changing:
            services.video_update(video=video, **{field: value})
            modeladmin.log_change(request, video, f"{done.capitalize()}.")
        note = already_note(len(videos) - len(changing), already)
        modeladmin.message_user(request, f"{done.capitalize()} {_videos(len(changing))}{note}.", messages.SUCCESS)
        return None

    action.__name__ = name
    return action


class OwnerFilter(admin.RelatedOnlyFieldListFilter):
    """Only people who have videos, by username (public; emails are for staff who may view users)."""

    def field_choices(self, field, request, model_admin) -> "list[tuple[str, str | _StrPromise]]":
        owners = Video.objects.order_by().values_list("owner", flat=True).distinct()
        users = field.related_model.objects.filter(pk__in=owners).order_by("username")
        return [(str(pk), username) for pk, username in users.values_list("pk", "username")]


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    form = VideoChangeForm
    list_display = [
        "poster",
        "title",
        "owner_name",
        "status_with_progress",
        "visibility",
        "is_featured",
        "length",
        "view_count",
        "created_at",
    ]
    list_display_links = ["poster", "title"]
    list_filter = ["status", "visibility", "is_featured", "category", ("owner", OwnerFilter)]
    list_select_related = ["owner", "category"]
    search_fields = ["title", "owner__username"]
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False  # one COUNT of a big table per page is enough
    autocomplete_fields = ["tags"]
    readonly_fields = [
        "id",
        "owner_name",
        "poster_preview",
        "status_with_progress",
        "failure_reason",
        "source_summary",
        "length",
        "dimensions",
        "derived",
        "published_at",
        "view_count",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["title", "description", "category", "tags", "visibility", "is_featured"]}),
        ("Plans", {"fields": ["plans"]}),
        ("Poster", {"fields": ["poster_preview"]}),
        ("State", {"fields": ["status_with_progress", "failure_reason", "published_at", "view_count"]}),
        ("Source", {"fields": ["id", "owner_name", "source_summary", "length", "dimensions", "derived"]}),
        ("Dates", {"fields": ["created_at", "updated_at"]}),
    ]
    inlines = [CaptionInline, RenditionInline, TranscodeJobInline]
    actions = ["delete_selected", "retranscode", "publish", "unpublish", "feature", "unfeature"]

    def get_queryset(self, request) -> QuerySet[Video]:
        return with_latest_job(super().get_queryset(request))

    # --- columns and read-only fields -----------------------------------------------------------

    def _poster_url(self, obj) -> str | None:
        if obj.status != Status.READY or not obj.poster_key:
            return None
        return reverse("admin:videos_video_poster", args=[obj.pk])

    @admin.display(description="")
    def poster(self, obj) -> str:
        url = self._poster_url(obj)
        if url is None:
            return "—"
        style = "object-fit:contain;background:#000"
        return format_html('<img src="{}" alt="" width="96" height="54" loading="lazy" style="{}">', url, style)

    @admin.display(description="poster")
    def poster_preview(self, obj) -> str:
        url = self._poster_url(obj)
        if url is None:
            return "No poster yet: it comes with the first finished transcode."
        origin = "uploaded (kept across transcodes)" if obj.custom_poster_id else "generated by the transcode"
        return format_html(
            '<img src="{}" alt="Poster of {}" style="max-width:480px;height:auto"><br>{}', url, obj.title, origin
        )

    def get_search_fields(self, request) -> list[str]:
        """Owners by username; by email too for staff who may see users' emails (content editors may not)."""
        if request.user.has_perm("accounts.view_user"):
            return [*self.search_fields, "owner__email"]
        return list(self.search_fields)

    @admin.display(description="owner", ordering="owner__username")
    def owner_name(self, obj) -> str:
        url = reverse("admin:videos_video_changelist") + f"?owner__id__exact={obj.owner_id}"
        return format_html('<a href="{}" title="Videos of this owner">{}</a>', url, obj.owner.username)

    @admin.display(description="status", ordering="status")
    def status_with_progress(self, obj) -> str:
        """The video's status, and how far its newest transcode is while one is queued or running."""
        status = obj.get_status_display()
        job_status = getattr(obj, "job_status", None)
        if job_status == Job.RUNNING:
            return f"{status} (transcoding {obj.job_progress:.0%})"
        if job_status == Job.QUEUED:
            return f"{status} (transcode queued)"
        return status

    @admin.display(description="duration", ordering="duration")
    def length(self, obj) -> str:
        if obj.duration is None:
            return "—"
        minutes, seconds = divmod(round(obj.duration), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02}:{seconds:02}" if hours else f"{minutes}:{seconds:02}"

    @admin.display(description="size as displayed")
    def dimensions(self, obj) -> str:
        return f"{obj.width} x {obj.height}" if obj.width and obj.height else "—"

    @admin.display(description="source")
    def source_summary(self, obj) -> str:
        if not obj.source_key:
            return "No source yet."
        info = obj.source_info or {}
        codecs = " + ".join(filter(None, [info.get("video_codec"), info.get("audio_codec")])) or "not probed yet"
        container = info.get("container", "")
        size = filesizeformat(obj.source_size) if obj.source_size is not None else "size unknown"
        return f"{codecs}{f' in {container}' if container else ''}, {size}"

    @admin.display(description="HLS output")
    def derived(self, obj) -> str:
        return f"{filesizeformat(obj.derived_size)} under {obj.hls_prefix}" if obj.hls_prefix else "None yet."

    def get_urls(self) -> list[URLPattern]:
        poster = path(
            "<path:object_id>/poster/", self.admin_site.admin_view(self.poster_view), name="videos_video_poster"
        )
        return [poster, *super().get_urls()]

    def poster_view(self, request, object_id) -> HttpResponseBase:
        """The poster for staff who may view the video: a redirect to its signed playback URL
        (list thumbnails link here, so the list itself signs nothing)."""
        video = self.get_object(request, object_id)
        if video is None or not self.has_view_permission(request, video) or self._poster_url(video) is None:
            raise Http404
        return redirect(
            signing.asset_url(
                video=video,
                key=signing.poster_key(video),
                user=request.user,
                build_absolute_uri=request.build_absolute_uri,
            )
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None) -> HttpResponse:
        """The change page adds an HLS preview player of the published ladder (after Django's
        permission checks, on the object it already fetched)."""
        if obj is not None and obj.status == Status.READY and obj.master_key:
            context["preview_url"] = signing.asset_url(
                video=obj, key=obj.master_key, user=request.user, build_absolute_uri=request.build_absolute_uri
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    # --- writes through the services ----------------------------------------------------------

    def save_model(self, request, obj, form, change) -> None:
        """Nothing here: `save_related` writes the changes with the tags, through `video_update`."""

    def save_formset(self, request, form, formset, change) -> None:
        """Caption tracks through the captions services; a refusal (a clash of language and kind)
        is shown, and that row left as it was."""
        if formset.model is not Caption:
            return super().save_formset(request, form, formset, change)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for row in formset.forms:
            caption, fields = row.instance, {name: row.cleaned_data[name] for name in CaptionInlineForm.Meta.fields}
            try:
                if row in formset.deleted_forms:
                    if caption.pk:
                        caption_services.caption_delete(caption=caption)
                        formset.deleted_objects.append(caption)
                elif caption._state.adding and row.has_changed():
                    created = caption_services.caption_create(
                        video=form.instance, content=row.cleaned_data["file"], **fields
                    )
                    formset.new_objects.append(created)
                elif not caption._state.adding and row.has_changed():
                    changed = {name: fields[name] for name in row.changed_data if name in fields}
                    caption_services.caption_update(caption=caption, content=row.cleaned_data["file"], **changed)
                    formset.changed_objects.append((caption, row.changed_data))
            except ApplicationError as error:
                self.message_user(request, f"Caption “{fields['label']}”: {error.message}", messages.ERROR)
        return None

    def save_related(self, request, form, formsets, change) -> None:
        for formset in formsets:  # the read-only inlines: nothing to save, but the change message reads them
            self.save_formset(request, form, formset, change)
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in EDITABLE}
        if "tags" in changes:
            changes["tags"] = [tag.name for tag in changes["tags"]]
        if "plans" in form.changed_data:
            changes["required_plans"] = [plan.code for plan in form.cleaned_data["plans"]]
        if changes:
            services.video_update(video=form.instance, **changes)

    def delete_model(self, request, obj) -> None:
        services.video_delete(video=obj)

    def delete_queryset(self, request, queryset) -> None:
        """Django's "delete selected" (with its confirmation) ends here: each video through the service."""
        for video in queryset:
            services.video_delete(video=video)

    def add_view(self, request, form_url="", extra_context=None) -> HttpResponse:
        """Upload a source for yourself or for someone else, through the same services as the API."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = VideoUploadForm(request.POST or None, request.FILES or None, staff=request.user)
        if request.method == "POST" and form.is_valid():
            source = form.cleaned_data["source"]
            try:
                video = video_create_with_source(
                    owner=form.cleaned_data["owner"], source=source, size=source.size, **form.metadata()
                )
            except ApplicationError as error:
                for field, problems in (error.fields or {"source": [error.message]}).items():
                    form.add_error(field if field in form.fields else None, problems)
            else:
                self.log_addition(request, video, [{"added": {}}])
                self.message_user(
                    request,
                    f"Uploaded “{video.title}” for {video.owner.username}: "
                    "it is probed and transcoded in the background.",
                    messages.SUCCESS,
                )
                return redirect("admin:videos_video_change", video.pk)
        fieldsets = [
            (None, {"fields": ["source", "owner"]}),
            ("Details", {"fields": ["title", "description", "category", "tags", "visibility"]}),
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": "Upload a video",
            "adminform": helpers.AdminForm(form, fieldsets, {}),  # type: ignore[arg-type]  # any Form works
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),  # type: ignore[arg-type]  # any Form works
            "media": self.media + form.media,
            "opts": self.model._meta,
            "add": True,
            "change": False,
            "has_view_permission": self.has_view_permission(request),
            "has_file_field": True,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/videos/video/upload_form.html", context)

    # --- actions --------------------------------------------------------------------------------

    def confirm(self, request, queryset, *, action: str, title: str, question: str) -> TemplateResponse:
        videos = list(queryset.select_related("owner"))
        items = [f"{video.title} ({video.owner.username}, {video.get_status_display().lower()})" for video in videos]
        return confirmation_page(self, request, videos, action=action, title=title, question=question, items=items)

    @admin.action(description="Re-transcode selected videos", permissions=["change"])
    def retranscode(self, request, queryset) -> TemplateResponse | None:
        if not confirmed(request):
            return self.confirm(
                request,
                queryset,
                action="retranscode",
                title="Re-transcode videos",
                question="Build these videos' HLS ladders again? The current ones play until the new ones are ready.",
            )
        queued, refused = 0, []
        for video in queryset:
            try:
                transcode_queue(video=video)
            except ApplicationError as error:
                refused.append(f"“{video.title}”: {error.message}")
                continue
            queued += 1
            self.log_change(request, video, "Queued a re-transcode.")
        if queued or not refused:
            self.message_user(request, f"Queued a re-transcode of {_videos(queued)}.", messages.SUCCESS)
        if refused:
            self.message_user(request, "Not queued: " + " ".join(refused), messages.WARNING)
        return None

    publish = _field_action(
        "publish",
        "visibility",
        Video.Visibility.PUBLIC,
        description="Publish selected videos (public)",
        question="Make these videos public? Ready ones appear in the catalog at once, the rest when ready.",
        done="published",
        already="public",
    )
    unpublish = _field_action(
        "unpublish",
        "visibility",
        Video.Visibility.PRIVATE,
        description="Unpublish selected videos (private)",
        question="Make these videos private? Only their owners and staff can watch them afterwards.",
        done="unpublished",
        already="private",
    )
    feature = _field_action(
        "feature",
        "is_featured",
        True,
        description="Mark selected videos as featured",
        question="Mark these videos as featured (the catalog's `featured=true`)?",
        done="featured",
        already="featured",
    )
    unfeature = _field_action(
        "unfeature",
        "is_featured",
        False,
        description="Remove selected videos from featured",
        question="Remove these videos from the featured ones?",
        done="unfeatured",
        already="not featured",
    )


class CategoryForm(forms.ModelForm):
    class Meta:
        model = Category
        fields = ["name", "slug"]

    def clean_slug(self) -> str:
        """Lowercase before the uniqueness check, so "Music" cannot sit beside "music" (the API's
        `?category=` names a slug)."""
        return self.cleaned_data["slug"].lower()

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        taken = Category.objects.filter(name__iexact=name).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError("A category with this name exists (names ignore case).")
        return name


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    form = CategoryForm
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


class TagForm(forms.ModelForm):
    class Meta:
        model = Tag
        fields = ["name"]

    def clean_name(self) -> str:
        """Lowercased as the API stores tags, before the uniqueness check: "Cats" is "cats"."""
        return self.cleaned_data["name"].strip().lower()


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    """Saves and deletes go through the services, which re-index the videos carrying the tag."""

    form = TagForm
    list_display = ["name", "created_at"]
    search_fields = ["name"]

    def save_model(self, request, obj, form, change) -> None:
        services.tag_save(tag=obj)

    def delete_model(self, request, obj) -> None:
        services.tag_delete(tag=obj)

    def delete_queryset(self, request, queryset) -> None:
        for tag in queryset:
            services.tag_delete(tag=tag)


class PlaylistItemInline(ReadOnlyInline):
    model = PlaylistItem
    fields = ["position", "video", "start_s", "stop_s", "added_at"]
    ordering = ["position"]


@admin.register(Playlist)
class PlaylistAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Shown, not edited: item writes lock the playlist and keep positions dense (the services),
    and watch later may not be renamed or shared; owners change them through the API."""

    list_display = ["title", "owner", "kind", "visibility", "item_count", "created_at"]
    list_filter = ["kind", "visibility"]
    search_fields = ["title", "owner__username", "owner__email"]
    list_select_related = ["owner"]
    inlines = [PlaylistItemInline]


@admin.register(Rating)
class RatingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: a rating moves its video's counters in the same transaction (the services)."""

    list_display = ["user", "video", "value", "updated_at"]
    list_filter = ["value"]
    search_fields = ["user__username", "video__title"]
    list_select_related = ["user", "video"]


@admin.register(Follow)
class FollowAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["follower", "channel", "created_at"]
    search_fields = ["follower__username", "channel__username"]
    list_select_related = ["follower", "channel"]
