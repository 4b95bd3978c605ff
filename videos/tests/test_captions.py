"""Caption tracks: the strict WebVTT/SRT reader, the captions API (owner and staff; others 404),
and the tracks in playback (the master playlist's SUBTITLES group, the media playlist, the VTT)."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.tests.factories import UserFactory
from testing.clients import assert_error, signed_in_client
from testing.race import run_concurrently
from videos import keys
from videos.captions import webvtt
from videos.captions.services import caption_create
from videos.errors import CaptionExists
from videos.models import Caption, Video
from videos.tests.conftest import stored_bytes, stored_keys
from videos.tests.factories import VideoFactory

VTT = b"WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nHello\n\n00:00:05.000 --> 00:00:07.500\nWorld\n"
SRT = (
    b'1\r\n00:00:01,000 --> 00:00:04,000\r\n<i>Hello</i> <font color="red">there</font>\r\n\r\n'
    b"2\r\n00:00:05,000 --> 00:00:07,500\r\nTwo\r\nlines\r\n"
)
MASTER = (
    "#EXTM3U\n#EXT-X-VERSION:7\n"
    '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="group_aac",NAME="audio",DEFAULT=YES,URI="audio/index.m3u8"\n'
    '#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2",AUDIO="group_aac"\n'
    "360p/index.m3u8\n\n"
    '#EXT-X-STREAM-INF:BANDWIDTH=2000000,RESOLUTION=854x480,CODECS="avc1.64001e,mp4a.40.2",AUDIO="group_aac"\n'
    "480p/index.m3u8\n"
)


def published_video(owner, **fields) -> Video:
    """A ready video with a master playlist in storage (no transcode: captions never need one)."""
    video = VideoFactory(owner=owner, duration=10.0, **fields)
    prefix = f"{keys.hls_root(video.pk)}test-1/"
    default_storage.save(prefix + keys.MASTER_PLAYLIST, ContentFile(MASTER.encode()))
    video.hls_prefix, video.master_key = prefix, prefix + keys.MASTER_PLAYLIST
    video.poster_key, video.storyboard_key = prefix + keys.POSTER, prefix + keys.STORYBOARD_VTT
    video.save()
    return video


# --- the reader ---------------------------------------------------------------------------------


def test_srt_becomes_webvtt_with_crlf_and_font_tags_gone():
    track = webvtt.parse(SRT, duration=10)
    assert track.to_webvtt() == (
        "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<i>Hello</i> there\n\n00:00:05.000 --> 00:00:07.500\nTwo\nlines\n"
    )


def test_a_bom_and_bare_cr_line_ends_are_read():
    data = b"\xef\xbb\xbf" + VTT.replace(b"\n", b"\r")
    assert len(webvtt.parse(data, duration=10).cues) == 2


def test_note_style_and_region_blocks_are_dropped_and_hostile_text_neutralised():
    # given a file whose cues try HTML, script, CSS and markup WebVTT does not have
    data = (
        "WEBVTT - header text\n\n"
        "STYLE\n::cue { background: url(https://evil.example/x.png) }\n\n"
        "REGION\nid:r1 width:40%\n\n"
        "NOTE a comment\nover two lines\n\n"
        "00:00:01.000 --> 00:00:02.000 region:r1 align:start position:10%\n"
        '<script>alert(1)</script><img src=x onerror="alert(2)">\n\n'
        "00:00:02.000 --> 00:00:03.000\n"
        "<c.yellow.big>kept</c> <v.loud Roger>hi</v> <lang en-GB>colour</lang> <ruby>漢<rt>kan</rt></ruby>\n\n"
        "00:00:03.000 --> 00:00:04.000\n"
        "<b onclick=x>no</b> <style>p{}</style> Tom &amp; Jerry & co &lt;3 &bogus; <00:00:03.500>late\n"
    ).encode()

    # when
    out = webvtt.parse(data, duration=10).to_webvtt()

    # then
    assert "STYLE" not in out and "url(" not in out and "REGION" not in out and "NOTE" not in out
    assert "region:" not in out and "align:start position:10%" in out
    assert "<script" not in out and "<img" not in out and "<style" not in out and "<b onclick" not in out
    assert '&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror="alert(2)"&gt;' in out
    assert "<c.yellow.big>kept</c> <v.loud Roger>hi</v> <lang en-GB>colour</lang> <ruby>漢<rt>kan</rt></ruby>" in out
    assert "&lt;b onclick=x&gt;no</b>" in out
    assert "Tom &amp; Jerry &amp; co &lt;3 &amp;bogus; <00:00:03.500>late" in out


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"WEBVTT\n\n00:00:01.000 --> 00:00:01.000\nzero length\n", "ends before it starts"),
        (b"WEBVTT\n\n00:00:03.000 --> 00:00:02.000\nbackwards\n", "ends before it starts"),
        (b"WEBVTT\n\n00:00:01.000 --> 00:00:11.001\nlate\n", "after the video"),
        (b"WEBVTT\n\n00:00:01.00 --> 00:00:02.000\nshort millis\n", "not a timestamp"),
        (b"WEBVTT\n\n00:61:01.000 --> 00:62:02.000\nminutes\n", "not a timestamp"),
        (b"WEBVTT\n\n00:00:01.000 -> 00:00:02.000\narrow\n", "expected a cue timing"),
        (b"WEBVTT\n\njust text\n", "expected a cue timing"),
        (b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000 color:red\nbad setting\n", "not a cue setting"),
        (b"WEBVTT\n", "no cues"),
        (b"", "no cues"),
        (b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n\xff\xfe\n", "Not UTF-8"),
        (b"1\n00:00:01.000 --> 00:00:02.000\nSRT with a dot\n", "not a timestamp"),
        (b"<html><script>alert(1)</script></html>\n", "expected a cue number"),
        (b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nnul\x00\n", "NUL"),
    ],
)
def test_bad_files_are_refused_with_the_reason(data, problem):
    with pytest.raises(webvtt.CaptionFileInvalid, match=problem):
        webvtt.parse(data, duration=10)


def test_a_cue_may_end_up_to_a_second_after_the_video():
    assert webvtt.parse(b"WEBVTT\n\n00:00:09.000 --> 00:00:11.000\nend\n", duration=10).cues[0].end == 11


def test_at_most_20000_cues():
    def cues(count: int) -> bytes:
        stamp = webvtt.format_time
        body = "".join(f"{stamp(i * 0.1)} --> {stamp(i * 0.1 + 0.05)}\nx\n\n" for i in range(count))
        return ("WEBVTT\n\n" + body).encode()

    assert len(webvtt.parse(cues(20_000), duration=4000).cues) == 20_000
    with pytest.raises(webvtt.CaptionFileInvalid, match="At most 20000 cues"):
        webvtt.parse(cues(20_001), duration=4000)


# --- the API ------------------------------------------------------------------------------------


@pytest.fixture
def owner(db):
    return signed_in_client(UserFactory())


def _url(video, caption=None) -> str:
    return f"/api/v1/videos/{video.pk}/captions" + (f"/{caption}" if caption else "")


def test_a_track_is_added_as_multipart_or_json_and_stored_normalised(owner):
    # given
    video = published_video(owner.user, visibility=Video.Visibility.PRIVATE)

    # when
    multipart = owner.post(
        _url(video),
        {"file": SimpleUploadedFile("en.srt", SRT), "language": "EN-us", "label": "English", "kind": "subtitles"},
        format="multipart",
    )
    as_json = owner.post(
        _url(video),
        {"content": VTT.decode(), "language": "fr", "label": "Français (SDH)", "kind": "captions", "is_default": True},
        format="json",
    )

    # then
    assert multipart.status_code == 201, multipart.content
    assert as_json.status_code == 201, as_json.content
    english = Caption.objects.get(pk=multipart.json()["id"])
    assert (english.language, english.kind, english.cue_count, english.is_default) == ("en-US", "subtitles", 2, False)
    assert english.key.startswith(video.storage_prefix + "captions/")
    assert stored_bytes(english.key).startswith(b"WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<i>Hello</i> there")
    listed = owner.get(_url(video)).json()
    assert [(t["language"], t["kind"], t["is_default"]) for t in listed] == [
        ("en-US", "subtitles", False),
        ("fr", "captions", True),
    ]


def test_one_track_per_language_and_kind_and_one_default(owner):
    video = published_video(owner.user)
    body = {"content": VTT.decode(), "language": "en", "label": "English", "is_default": True}
    first = owner.post(_url(video), body, format="json").json()
    before = stored_keys(video.storage_prefix + "captions/")

    # a second English subtitles track is refused, and stores nothing
    assert_error(owner.post(_url(video), body, format="json"), 409, "caption_exists")
    assert stored_keys(video.storage_prefix + "captions/") == before

    # captions in English are another track; making it the default clears the first one's
    second = owner.post(_url(video), {**body, "kind": "captions", "label": "English CC"}, format="json").json()
    assert second["is_default"] is True
    assert owner.get(_url(video, first["id"])).json()["is_default"] is False
    # and back, by PATCH
    patched = owner.patch(_url(video, first["id"]), {"is_default": True}, format="json")
    assert patched.status_code == 200 and patched.json()["is_default"] is True
    assert [str(pk) for pk in Caption.objects.filter(video=video, is_default=True).values_list("pk", flat=True)] == [
        first["id"]
    ]
    # renaming the kind onto the other track's is a clash too
    assert_error(owner.patch(_url(video, first["id"]), {"kind": "captions"}, format="json"), 409, "caption_exists")


@pytest.mark.parametrize("language", ["english", "en_US", "e", "en-US-x-private", "en-", "zh-Hant-TW-extra", "ﬀ"])
def test_languages_are_bcp47_tags(owner, language):
    video = published_video(owner.user)
    response = owner.post(_url(video), {"content": VTT.decode(), "language": language, "label": "x"}, format="json")
    assert assert_error(response, 400, "validation_error")["fields"].keys() == {"language"}


def test_a_bad_file_is_refused_with_its_line_and_stores_nothing(owner):
    video = published_video(owner.user)
    response = owner.post(
        _url(video),
        {"content": "WEBVTT\n\n00:00:01.000 --> 00:00:30.000\ntoo late\n", "language": "en", "label": "x"},
        format="json",
    )
    assert "Line 3" in assert_error(response, 400, "invalid_caption")["message"]
    assert not Caption.objects.exists()
    assert stored_keys(video.storage_prefix + "captions/") == []


def test_a_file_over_2_mb_is_413(owner, settings):
    video = published_video(owner.user)
    data = VTT + b"NOTE " + b"x" * (settings.CAPTION_MAX_BYTES - len(VTT) - 4)
    assert len(data) == settings.CAPTION_MAX_BYTES + 1
    response = owner.post(
        _url(video), {"file": SimpleUploadedFile("big.vtt", data), "language": "en", "label": "x"}, format="multipart"
    )
    assert_error(response, 413, "caption_too_large")
    response = owner.post(_url(video), {"content": data.decode(), "language": "en", "label": "x"}, format="json")
    assert response.status_code == 413


def test_file_and_content_together_or_neither_are_refused(owner):
    video = published_video(owner.user)
    response = owner.post(_url(video), {"language": "en", "label": "x"}, format="json")
    assert_error(response, 400, "validation_error")


def test_others_get_404_and_staff_manage(owner, db):
    # given another viewer's track on a public video
    video = published_video(owner.user, visibility=Video.Visibility.PUBLIC)
    caption = owner.post(_url(video), {"content": VTT.decode(), "language": "en", "label": "x"}, format="json").json()
    stranger = signed_in_client(UserFactory())
    body = {"content": VTT.decode(), "language": "de", "label": "x"}

    # then a stranger can neither see nor touch them
    assert_error(stranger.get(_url(video)), 404, "not_found")
    assert_error(stranger.post(_url(video), body, format="json"), 404, "not_found")
    assert_error(stranger.get(_url(video, caption["id"])), 404, "not_found")
    assert_error(stranger.patch(_url(video, caption["id"]), {"label": "y"}, format="json"), 404, "not_found")
    assert_error(stranger.delete(_url(video, caption["id"])), 404, "not_found")
    # nor reach a track through another video of theirs
    theirs = published_video(stranger.user)
    assert_error(stranger.get(_url(theirs, caption["id"])), 404, "not_found")
    # while staff who may change videos can
    staff = signed_in_client(UserFactory(is_staff=True, is_superuser=True))
    assert staff.post(_url(video), body, format="json").status_code == 201


def test_deleting_a_track_deletes_its_file(owner, django_capture_on_commit_callbacks):
    video = published_video(owner.user)
    caption = owner.post(_url(video), {"content": VTT.decode(), "language": "en", "label": "x"}, format="json").json()
    key = Caption.objects.get(pk=caption["id"]).key
    with django_capture_on_commit_callbacks(execute=True):
        assert owner.delete(_url(video, caption["id"])).status_code == 204
    assert key not in stored_keys(video.storage_prefix)
    assert not Caption.objects.exists()


def test_replacing_the_text_by_patch_swaps_the_file(owner, django_capture_on_commit_callbacks):
    video = published_video(owner.user)
    caption = owner.post(_url(video), {"content": VTT.decode(), "language": "en", "label": "x"}, format="json").json()
    old = Caption.objects.get(pk=caption["id"]).key
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.patch(_url(video, caption["id"]), {"content": SRT.decode()}, format="json")
    assert response.status_code == 200, response.content
    new = Caption.objects.get(pk=caption["id"]).key
    assert new != old and old not in stored_keys(video.storage_prefix) and new in stored_keys(video.storage_prefix)


# --- playback -----------------------------------------------------------------------------------


def test_tracks_join_the_master_playlist_and_play_through_the_signed_urls(owner, api_client):
    # given a private video with a captions track (the default) and a subtitles track
    video = published_video(owner.user, visibility=Video.Visibility.PRIVATE)
    for body in (
        {"content": VTT.decode(), "language": "en", "label": "English", "kind": "captions", "is_default": True},
        {"content": SRT.decode(), "language": "pt-BR", "label": 'Português "BR"'},
    ):
        assert owner.post(_url(video), body, format="json").status_code == 201

    # when the owner's player asks for playback, then the master playlist
    answer = owner.get(f"/api/v1/videos/{video.pk}/playback").json()
    master = api_client.get(answer["master_url"])

    # then the master names both tracks in one SUBTITLES group that every variant refers to
    assert master.status_code == 200
    text = master.content.decode()
    english, portuguese = sorted(answer["captions"], key=lambda t: t["language"])
    assert (
        '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,'
        'CHARACTERISTICS="public.accessibility.transcribes-spoken-dialog,public.accessibility.describes-music-and-sound",'
        f'URI="captions/{english["id"]}.m3u8"'
    ) in text
    assert (
        f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="Português \'BR\'",LANGUAGE="pt-BR",DEFAULT=NO,'
        f'AUTOSELECT=YES,URI="captions/{portuguese["id"]}.m3u8"'
    ) in text
    variants = [line for line in text.splitlines() if line.startswith("#EXT-X-STREAM-INF:")]
    assert len(variants) == 2 and all(line.endswith(',SUBTITLES="subs"') for line in variants)
    assert text.index("TYPE=SUBTITLES") < text.index("#EXT-X-STREAM-INF")

    # and each track is a one-segment WebVTT playlist, its VTT mapped to the media's timeline
    playlist = api_client.get(english["playlist_url"])
    assert playlist.status_code == 200 and playlist["Access-Control-Allow-Origin"] == "*"
    assert playlist.content.decode() == (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n"
        f"#EXTINF:10.000,\n{english['id']}.vtt\n#EXT-X-ENDLIST\n"
    )
    assert english["playlist_url"].rsplit("/", 1)[0] + f"/{english['id']}.vtt" == english["url"]
    vtt = api_client.get(english["url"])
    assert vtt.status_code == 200
    assert vtt["Content-Type"].startswith("text/vtt")
    assert vtt["Access-Control-Allow-Origin"] == "*" and vtt["X-Content-Type-Options"] == "nosniff"
    assert vtt.content.decode().startswith("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n\n00:00:01.000 -->")

    # and a token opens only its own video's tracks
    other = published_video(owner.user, visibility=Video.Visibility.PRIVATE)
    other_answer = owner.get(f"/api/v1/videos/{other.pk}/playback").json()
    token_of_other = other_answer["master_url"].split("/playback/")[1].split("/")[0]
    assert_error(api_client.get(f"/api/v1/playback/{token_of_other}/captions/{english['id']}.vtt"), 404, "not_found")
    assert_error(api_client.get(english["url"].replace("/playback/", "/playback/x")), 403, "playback_token_invalid")


def test_a_video_without_tracks_serves_its_master_as_stored(owner, api_client):
    video = published_video(owner.user)
    answer = owner.get(f"/api/v1/videos/{video.pk}/playback").json()
    assert answer["captions"] == []
    assert "SUBTITLES" not in api_client.get(answer["master_url"]).content.decode()


def test_removing_a_track_takes_it_out_of_the_master_at_once(owner, api_client):
    video = published_video(owner.user)
    caption = owner.post(_url(video), {"content": VTT.decode(), "language": "en", "label": "x"}, format="json").json()
    answer = owner.get(f"/api/v1/videos/{video.pk}/playback").json()
    assert "SUBTITLES" in api_client.get(answer["master_url"]).content.decode()
    owner.delete(_url(video, caption["id"]))
    assert "SUBTITLES" not in api_client.get(answer["master_url"]).content.decode()


@pytest.mark.django_db(transaction=True)
def test_racing_tracks_of_one_language_and_kind_make_one_and_one_default():
    # given
    video = published_video(UserFactory())

    # when five requests add a default English track at once, and five a default track each in its own language
    same = run_concurrently(
        lambda i: caption_create(video=video, language="en", label=f"x{i}", kind="subtitles", content=VTT),
        threads=5,
    )
    others = run_concurrently(
        lambda i: caption_create(
            video=video,
            language=["de", "fr", "it", "es", "nl"][i],
            label="y",
            kind="subtitles",
            is_default=True,
            content=VTT,
        ),
        threads=5,
    )

    # then one English track exists, the others got caption_exists; and exactly one track is the default
    assert sum(o.error is None for o in same) == 1
    assert all(isinstance(o.error, CaptionExists) for o in same if o.error is not None)
    assert all(o.error is None for o in others)
    assert Caption.objects.filter(video=video).count() == 6
    assert Caption.objects.filter(video=video, is_default=True).count() == 1
