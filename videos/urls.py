from rest_framework.routers import SimpleRouter

from videos.views import CategoryViewSet, MyVideoViewSet, UploadViewSet, VideoViewSet

router = SimpleRouter(trailing_slash=False)
router.register("videos", VideoViewSet, basename="video")
router.register("me/videos", MyVideoViewSet, basename="my-video")
router.register("uploads", UploadViewSet, basename="upload")
router.register("categories", CategoryViewSet, basename="category")

urlpatterns = router.urls
