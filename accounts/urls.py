from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.two_factor.views import TwoFactorViewSet
from accounts.views import AuthViewSet, AvatarView, UserViewSet, avatar_file

router = SimpleRouter(trailing_slash=False)
router.register("auth/2fa", TwoFactorViewSet, basename="two-factor")
router.register("auth", AuthViewSet, basename="auth")
router.register("users", UserViewSet, basename="user")

urlpatterns = [
    path("users/me/avatar", AvatarView.as_view(), name="avatar"),
    *router.urls,
    path("avatars/<uuid:avatar_id>/<int:size>.webp", avatar_file, name="avatar-file"),
]
