import factory
from django.utils import timezone

from accounts.tests.factories import UserFactory
from videos.catalog import services
from videos.models import Category, Video


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class VideoFactory(factory.django.DjangoModelFactory):
    """A ready, public catalog video by default; `tags=[...]` goes through the service so the
    search vector is built as in production."""

    class Meta:
        model = Video
        skip_postgeneration_save = True

    owner = factory.SubFactory(UserFactory)
    title = factory.Faker("sentence", nb_words=4)
    description = factory.Faker("paragraph")
    visibility = Video.Visibility.PUBLIC
    status = Video.Status.READY
    duration = 60.0
    width = 1280
    height = 720
    published_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def tags(self, create, extracted, **kwargs):
        if create:
            services.video_update(video=self, tags=extracted or [])


class DraftVideoFactory(VideoFactory):
    visibility = Video.Visibility.PRIVATE
    status = Video.Status.DRAFT
    duration = None
    width = None
    height = None
    published_at = None
