"""Views that fail in each way the error handler must format (wired only by test_errors)."""

from django.http import Http404
from django.urls import path
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from vod.exceptions import ApplicationError


class _TitleSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=5)
    tags = serializers.ListField(child=serializers.CharField(max_length=3))


@api_view(["POST"])
@permission_classes([AllowAny])
def validation(request):
    _TitleSerializer(data=request.data).is_valid(raise_exception=True)
    return Response({})


@api_view(["GET"])
@permission_classes([IsAuthenticated])
def private(request):
    return Response({"user": str(request.user.pk)})


class AlreadyPublished(ApplicationError, status=status.HTTP_409_CONFLICT, code="already_published"):
    """Already published."""


@api_view(["GET"])
@permission_classes([AllowAny])
def conflict(request):
    raise AlreadyPublished()


@api_view(["GET"])
@permission_classes([AllowAny])
def django_404(request):
    raise Http404("secret detail that must not leak")


@api_view(["GET"])
@permission_classes([AllowAny])
def crash(request):
    raise RuntimeError("password=hunter2 in a traceback")


def plain_crash(request):
    raise RuntimeError("a non-DRF view failing")


urlpatterns = [
    path("validation", validation),
    path("private", private),
    path("conflict", conflict),
    path("django-404", django_404),
    path("crash", crash),
    path("plain-crash", plain_crash),
]
handler500 = "vod.exception_handlers.server_error"
