"""Answers and input of the captions API."""

from rest_framework import serializers

from videos.captions.services import canonical_language
from videos.models import Caption
from vod.serializers import InputSerializer, refuse_control_characters


class CaptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Caption
        fields = ["id", "language", "label", "kind", "is_default", "cue_count", "size", "created_at", "updated_at"]
        read_only_fields = fields


class CaptionInputSerializer(InputSerializer):
    """A track: its metadata, and its WebVTT or SRT as a multipart `file` or as JSON `content`."""

    language = serializers.CharField(
        max_length=35, help_text="BCP 47: language[-Script][-REGION], e.g. `en`, `pt-BR`, `zh-Hant-TW`."
    )
    label = serializers.CharField(max_length=100, validators=[refuse_control_characters])  # type: ignore[assignment]
    kind = serializers.ChoiceField(Caption.Kind.choices, required=False, default=Caption.Kind.SUBTITLES)
    is_default = serializers.BooleanField(required=False, default=False)
    file = serializers.FileField(required=False, help_text="WebVTT or SRT, UTF-8, up to 2 MB (multipart).")
    content = serializers.CharField(
        required=False, trim_whitespace=False, help_text="WebVTT or SRT text (JSON), instead of `file`."
    )

    def validate_language(self, value: str) -> str:
        canonical = canonical_language(value)
        if canonical is None:
            raise serializers.ValidationError("Not a BCP 47 tag of the form language[-Script][-REGION].")
        return canonical

    def validate(self, attrs: dict) -> dict:
        if not self.partial and ("file" in attrs) == ("content" in attrs):
            raise serializers.ValidationError({"file": ["Send the track as `file` (multipart) or `content` (JSON)."]})
        if "file" in attrs and "content" in attrs:
            raise serializers.ValidationError({"file": ["Send `file` or `content`, not both."]})
        return attrs
