from django.urls import path
from rest_framework.routers import SimpleRouter

from videos.captions.views import CaptionViewSet, caption_playlist, caption_vtt
from videos.catalog.views import CategoryViewSet, MyVideoViewSet, VideoViewSet
from videos.library.views import ChannelViewSet, MyLibraryViewSet, PlaylistViewSet, RatingViewSet
from videos.playback.views import ContinueWatchingViewSet, WatchHistoryViewSet, playback_file, playback_poster
from videos.uploads.views import UploadViewSet
from vod.viewsets import UUID_PATTERN

router = SimpleRouter(trailing_slash=False)
router.register("videos", VideoViewSet, basename="video")
router.register(rf"videos/(?P<video_pk>{UUID_PATTERN})/captions", CaptionViewSet, basename="video-caption")
router.register("me/videos", MyVideoViewSet, basename="my-video")
router.register("uploads", UploadViewSet, basename="upload")
router.register("categories", CategoryViewSet, basename="category")
router.register("playlists", PlaylistViewSet, basename="playlist")
router.register("channels", ChannelViewSet, basename="channel")

history = WatchHistoryViewSet.as_view({"get": "list", "delete": "clear"})
urlpatterns = [
    *router.urls,
    path("videos/<uuid:pk>/rating", RatingViewSet.as_view({"put": "update"}), name="video-rating"),
    path("me/watch-later", MyLibraryViewSet.as_view({"get": "watch_later"}), name="watch-later"),
    path("me/playlists/contains", MyLibraryViewSet.as_view({"get": "contains"}), name="playlists-contains"),
    path("me/liked", MyLibraryViewSet.as_view({"get": "liked"}), name="liked"),
    path("me/following", MyLibraryViewSet.as_view({"get": "following"}), name="following"),
    path("me/feed", MyLibraryViewSet.as_view({"get": "feed"}), name="feed"),
    path("me/history", history, name="history"),
    path("me/history/<uuid:video_id>", WatchHistoryViewSet.as_view({"delete": "destroy"}), name="history-item"),
    path("me/continue-watching", ContinueWatchingViewSet.as_view({"get": "list"}), name="continue-watching"),
    # Before the generic file route: captions and the uploaded poster are not files of the HLS version.
    path("playback/<str:token>/captions/<uuid:caption_id>.m3u8", caption_playlist, name="playback-caption-playlist"),
    path("playback/<str:token>/captions/<uuid:caption_id>.vtt", caption_vtt, name="playback-caption-vtt"),
    path("playback/<str:token>/poster/<int:width>.webp", playback_poster, name="playback-poster"),
    path("playback/<str:token>/<path:path>", playback_file, name="playback-file"),
]
