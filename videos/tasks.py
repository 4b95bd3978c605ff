"""Background jobs of the catalog. Each takes ids and calls a service."""

from celery import shared_task

from videos import services, transcode_jobs


@shared_task(acks_late=True)
def probe_source(video_id: str) -> None:
    """Probes a freshly stored source (the transcoding pipeline starts from a probed source)."""
    services.source_probe(video_id=video_id)


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def delete_video_storage(video_id: str) -> int:
    """Deletes every object of a deleted video; safe to repeat."""
    return services.delete_storage(video_id=video_id)


@shared_task
def abort_stale_uploads() -> int:
    return services.uploads_abort_stale()


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=3)
def transcode_video(self, job_id: str) -> bool:
    """Runs one transcode job (queue `transcode`); a duplicate delivery finds it claimed and stops."""
    try:
        return transcode_jobs.run_job(job_id)
    except Exception as exc:
        raise self.retry(exc=exc, countdown=30 * 2**self.request.retries) from exc


@shared_task
def reap_stuck_jobs() -> dict:
    return transcode_jobs.jobs_reap()
