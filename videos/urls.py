from django.urls import path
from rest_framework.routers import SimpleRouter

from videos.catalog.views import CategoryViewSet, MyVideoViewSet, VideoViewSet
from videos.playback.views import ContinueWatchingViewSet, WatchHistoryViewSet, playback_file
from videos.uploads.views import UploadViewSet

router = SimpleRouter(trailing_slash=False)
router.register("videos", VideoViewSet, basename="video")
router.register("me/videos", MyVideoViewSet, basename="my-video")
router.register("uploads", UploadViewSet, basename="upload")
router.register("categories", CategoryViewSet, basename="category")

history = WatchHistoryViewSet.as_view({"get": "list", "delete": "clear"})
urlpatterns = [
    *router.urls,
    path("me/history", history, name="history"),
    path("me/history/<uuid:video_id>", WatchHistoryViewSet.as_view({"delete": "destroy"}), name="history-item"),
    path("me/continue-watching", ContinueWatchingViewSet.as_view({"get": "list"}), name="continue-watching"),
    path("playback/<str:token>/<path:path>", playback_file, name="playback-file"),
]
