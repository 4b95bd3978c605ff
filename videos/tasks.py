"""Background jobs of the videos app: thin Celery entry points that take ids and call a service.

Every task has an explicit `name`, the one Celery derived from this module before the app was
split into subpackages, so messages already queued (and beat's schedule) keep routing while code
moves; never rename one of them.
"""

from celery import shared_task
from django.conf import settings

from videos.catalog import services as catalog_services
from videos.library import services as library_services
from videos.pipeline import jobs
from videos.pipeline import services as pipeline_services
from videos.uploads import services as upload_services


@shared_task(name="videos.tasks.probe_source", acks_late=True)
def probe_source(video_id: str) -> None:
    """Probes a freshly stored source (the transcoding pipeline starts from a probed source)."""
    pipeline_services.source_probe(video_id=video_id)


@shared_task(
    name="videos.tasks.delete_video_storage",
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
def delete_video_storage(video_id: str) -> int:
    """Deletes every object of a deleted video; safe to repeat."""
    return catalog_services.delete_storage(video_id=video_id)


@shared_task(name="videos.tasks.abort_stale_uploads")
def abort_stale_uploads() -> int:
    """Periodic (beat): aborts uploads left unfinished past their expiry."""
    return upload_services.uploads_abort_stale()


# max_retries=None: the job's attempts are the retry budget (`jobs.awaits_retry`), not Celery's.
@shared_task(
    name="videos.tasks.transcode_video", bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None
)
def transcode_video(self, job_id: str) -> bool:
    """Runs one transcode job (queue `transcode`); a duplicate delivery finds it claimed and stops.
    A failed attempt that put the job back in the queue is retried after a growing pause."""
    try:
        return jobs.run_job(job_id)
    except jobs.OwnerBusy as exc:  # the owner's share of workers is taken: wait, without spending an attempt
        jobs.job_waiting(job_id)
        raise self.retry(exc=exc, countdown=settings.TRANSCODE_OWNER_BUSY_RETRY_SECONDS) from exc
    except Exception as exc:
        if not jobs.awaits_retry(job_id):
            raise
        raise self.retry(exc=exc, countdown=30 * 2**self.request.retries) from exc


@shared_task(name="videos.tasks.reap_stuck_jobs")
def reap_stuck_jobs() -> dict[str, int]:
    """Periodic (beat): requeues or fails jobs whose worker stopped sending heartbeats."""
    return jobs.jobs_reap()


@shared_task(name="videos.tasks.recount_ratings")
def recount_ratings() -> int:
    """Beat: repairs like/dislike counters that drifted from the rating rows."""
    return library_services.ratings_recount()


@shared_task(name="videos.tasks.move_published_version", acks_late=True, autoretry_for=(Exception,), max_retries=5)
def move_published_version(video_id: str) -> bool:
    """Moves a formerly public video's files away from the URLs PLAYBACK_PUBLIC_BASE_URL gave out."""
    return jobs.version_move(video_id=video_id)
