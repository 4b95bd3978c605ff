"""TranscodeJob lifecycle: queue, claim (conditional update + lease), heartbeat, publish in one
transaction, fail, and reap jobs whose worker stopped. The ffmpeg work itself is in
`videos.pipeline.ladder`.

A duplicate delivery or a second worker cannot run a job twice: only the claim that moved the row
to `running` owns it, and only the owner of the current attempt may publish. Each attempt writes
under its own prefix; publishing deletes every other prefix, so a killed attempt leaves nothing.
"""

import logging
import os
import re
import socket
import tempfile
import time
import uuid
from functools import partial
from pathlib import Path

from boto3.s3.transfer import TransferConfig
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from videos import keys, storage
from videos.errors import NoSource, TranscodeInProgress
from videos.models import Rendition, TranscodeJob, Video, VideoPlan
from videos.pipeline import ladder, selectors
from videos.pipeline.probing import MediaInfo, NotPlayableMedia, probe
from webhooks.services import emit

logger = logging.getLogger(__name__)
Job = TranscodeJob.Status
# What publishing sets on the video, besides `published_at` the first time.
PUBLISHED_FIELDS = [
    "hls_prefix",
    "master_key",
    "poster_key",
    "storyboard_key",
    "derived_size",
    "duration",
    "width",
    "height",
    "status",
    "failure_reason",
]


class LeaseLost(Exception):
    """Another worker (or the reaper) took the job over; this attempt must stop quietly."""


class OwnerBusy(Exception):
    """The video's owner already has TRANSCODE_MAX_ACTIVE_PER_USER transcodes running: this job
    waits in the queue (the task asks again later), so one user's uploads cannot take every worker."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _time_limits(video: Video) -> tuple[int, int]:
    """Soft and hard Celery limits: the encode's own limit, plus time to download and upload."""
    soft = int(ladder.encode_timeout(video.duration or 0)) + 300
    return soft, soft + 120


def _enqueue_on_commit(job: TranscodeJob, video: Video) -> None:
    """Sends the job to a transcode worker once the transaction commits, limited in time for this video."""
    from videos.tasks import transcode_video

    job_id, (soft, hard) = str(job.pk), _time_limits(video)
    transaction.on_commit(lambda: transcode_video.apply_async((job_id,), soft_time_limit=soft, time_limit=hard))


def transcode_queue(*, video: Video, enqueue: bool = True, force: bool = False) -> TranscodeJob:
    """Queues a (re)transcode of the video's source; refused while one is queued or running,
    unless `force` (an operator's `transcode --force`) fails that one first: its worker loses the
    attempt and stops, and its partial output is deleted. `enqueue=False` leaves running it to
    the caller (`transcode_here`)."""
    if not video.source_key:
        raise NoSource()
    try:
        with transaction.atomic():
            if force:
                _supersede_active(video)
            job = TranscodeJob.objects.create(
                video=video, profile=settings.TRANSCODE_PROFILE, max_attempts=settings.TRANSCODE_MAX_ATTEMPTS
            )
    except IntegrityError:
        raise TranscodeInProgress() from None
    if enqueue:
        _enqueue_on_commit(job, video)
    return job


def _supersede_active(video: Video) -> None:
    for job in TranscodeJob.objects.select_for_update().filter(video=video, status__in=[Job.QUEUED, Job.RUNNING]):
        job.status, job.finished_at, job.error = Job.FAILED, timezone.now(), "superseded by a forced transcode"
        job.save(update_fields=["status", "finished_at", "error"])
        if job.output_prefix:
            transaction.on_commit(partial(storage.delete_prefix, job.output_prefix))


def transcode_here(*, video: Video, force: bool = False) -> TranscodeJob:
    """Queues a transcode and runs it in this process instead of a worker (`manage.py transcode
    --sync`, `import_video --sync`, tests); returns the job as it ended."""
    job = transcode_queue(video=video, enqueue=False, force=force)
    run_job(job.pk, limit_per_owner=False)
    job.refresh_from_db()
    return job


def awaits_retry(job_id: uuid.UUID | str) -> bool:
    """True while a failed attempt put the job back in the queue: its attempts
    (TRANSCODE_MAX_ATTEMPTS) are the one retry budget, the task's retries only follow them."""
    return TranscodeJob.objects.filter(pk=job_id, status=Job.QUEUED).exists()


def _attempt(job: TranscodeJob) -> Q:
    """The job as long as this attempt owns it: running, claimed by this worker, this attempt."""
    return Q(pk=job.pk, status=Job.RUNNING, worker=job.worker, attempts=job.attempts)


def _fail_video(video_id: uuid.UUID | str, reason: str) -> None:
    """The video fails with its job, unless an older version stays playable."""
    if (
        Video.objects.filter(pk=video_id)
        .exclude(status=Video.Status.READY)
        .update(status=Video.Status.FAILED, failure_reason=reason)
    ):
        emit("video.failed", Video.objects.get(pk=video_id))


def _claim(job_id: uuid.UUID | str, worker: str, *, limit_per_owner: bool = True) -> TranscodeJob | None:
    """Takes the job for this worker; None if it is not claimable (done, or another worker's).
    Raises OwnerBusy while its owner has their share of running jobs (claims of one owner are
    serialised on their row, so racing workers cannot pass the cap together)."""
    now = timezone.now()
    claimable = Q(status=Job.QUEUED) | Q(status=Job.RUNNING, lease_expires_at__lt=now)
    with transaction.atomic():
        job_rows = TranscodeJob.objects.filter(claimable, pk=job_id, attempts__lt=F("max_attempts"))
        owner_id = job_rows.values_list("video__owner_id", flat=True).first()
        if owner_id is None:
            return None
        if limit_per_owner:
            get_user_model().objects.select_for_update().filter(pk=owner_id).exists()
            running = TranscodeJob.objects.filter(
                video__owner_id=owner_id, status=Job.RUNNING, lease_expires_at__gte=now
            )
            if running.exclude(pk=job_id).count() >= settings.TRANSCODE_MAX_ACTIVE_PER_USER:
                raise OwnerBusy()
        claimed = job_rows.update(
            status=Job.RUNNING,
            worker=worker,
            attempts=F("attempts") + 1,
            lease_expires_at=now + settings.TRANSCODE_LEASE,
            heartbeat_at=now,
            started_at=now,
            progress=0,
            error="",
        )
    if not claimed:
        return None
    job = TranscodeJob.objects.select_related("video").get(pk=job_id)
    job.output_prefix = keys.hls_version_prefix(job.video_id, job.pk, job.attempts)
    job.save(update_fields=["output_prefix"])
    Video.objects.filter(pk=job.video_id).exclude(status=Video.Status.READY).update(status=Video.Status.PROCESSING)
    return job


class Heartbeat:
    """Renews the job's lease every few seconds while work goes on (download, encode, upload)."""

    def __init__(self, job: TranscodeJob):
        self.job = job
        self.last = 0.0
        self.progress = 0.0

    def __call__(self, progress: float | None = None) -> None:
        if progress is not None:
            self.progress = progress
        if time.monotonic() - self.last >= settings.TRANSCODE_HEARTBEAT_SECONDS:
            self.last = time.monotonic()
            _heartbeat(self.job, self.progress)


def _heartbeat(job: TranscodeJob, progress: float) -> None:
    now = timezone.now()
    renewed = TranscodeJob.objects.filter(_attempt(job)).update(
        progress=round(progress, 4), heartbeat_at=now, lease_expires_at=now + settings.TRANSCODE_LEASE
    )
    if not renewed:
        raise LeaseLost()


def run_job(job_id: uuid.UUID | str, *, worker: str | None = None, limit_per_owner: bool = True) -> bool:
    """Claims and runs one job; True when this call published it. OwnerBusy: not claimed, ask again
    later (`limit_per_owner=False`: an operator's run here, outside the workers' shares)."""
    job = _claim(job_id, worker or worker_name(), limit_per_owner=limit_per_owner)
    if job is None:
        return False
    beat = Heartbeat(job)
    try:
        with tempfile.TemporaryDirectory(prefix="vod-transcode-") as folder:
            work = Path(folder)
            source = _fetch_source(job.video, work / "source", beat)
            info = probe(source)
            plan = ladder.plan_for(info)
            out = work / "out"
            out.mkdir()
            ladder.run(plan, source, out, on_progress=lambda f: beat(None if f is None else f * 0.9))
            ladder.check_complete(plan, out)
            ladder.write_storyboard_vtt(plan, out)
            size = _upload(out, job, beat)
            return _publish(job, info, out, size)
    except SoftTimeLimitExceeded:
        _fail(job, "Transcoding took longer than its time limit.", "", retry=False)
        return False
    except LeaseLost:
        logger.warning("transcode %s attempt %s lost its lease; stopping", job.pk, job.attempts)
        return False
    except (NotPlayableMedia, ladder.TranscodeFailed) as exc:
        _fail(job, str(exc), getattr(exc, "log_tail", ""), retry=False)
        return False
    except Exception:
        # The exception goes to the log (and Celery); owners read the job's error: a sentence.
        logger.exception("transcode %s attempt %s failed", job.pk, job.attempts)
        _fail(job, "Transcoding failed on our side.", "", retry=True)
        raise


def _fetch_source(video: Video, path: Path, beat: Heartbeat) -> Path:
    """Streams the source to a local file, beating as it goes (S3 straight to disk: a storage
    `open()` would first buffer the whole object in memory)."""
    if storage.uses_s3():
        # One thread: the heartbeat callback writes to the database on this thread's connection.
        storage.s3_client().download_file(
            storage.s3_bucket(),
            video.source_key,
            str(path),
            Callback=lambda _: beat(),
            Config=TransferConfig(use_threads=False),
        )
        return path
    with default_storage.open(video.source_key, "rb") as src, open(path, "wb") as local:
        for chunk in src.chunks(storage.CHUNK):
            local.write(chunk)
            beat()
    return path


def _upload(out: Path, job: TranscodeJob, beat: Heartbeat) -> int:
    """Copies every output under the attempt's prefix, one after another (uploading 4 or 8 at a
    time measured no faster against moto on 2 cores, 8 clearly slower); returns the bytes stored."""
    total = 0
    for path in sorted(out.rglob("*")):
        if path.is_dir() or path.name == "ffmpeg.log":
            continue
        with open(path, "rb") as handle:
            storage.save_exactly(job.output_prefix + path.relative_to(out).as_posix(), File(handle))
        total += path.stat().st_size
        beat(0.95)
    return total


_STREAM_INF = re.compile(r"#EXT-X-STREAM-INF:(?P<attrs>.+)\n(?P<uri>\S+)")


def _renditions(out: Path) -> list[dict]:
    """The video rungs as ffmpeg described them in the master playlist (the audio-only variant
    ffmpeg lists for the shared audio rendition is not a rung)."""
    renditions = []
    for match in _STREAM_INF.finditer((out / keys.MASTER_PLAYLIST).read_text()):
        attrs = dict(re.findall(r'([A-Z-]+)=("[^"]*"|[^,]*)', match["attrs"]))
        if "RESOLUTION" not in attrs:
            continue
        width, height = (int(n) for n in attrs["RESOLUTION"].split("x"))
        renditions.append(
            {
                "name": match["uri"].split("/")[0],
                "width": width,
                "height": height,
                "bandwidth": int(attrs["BANDWIDTH"]),
                "codecs": attrs.get("CODECS", "").strip('"'),
                "playlist_key": match["uri"],
            }
        )
    return renditions


def _publish(job: TranscodeJob, info: MediaInfo, out: Path, size: int) -> bool:
    """Swaps the video to this attempt's output in one transaction, then deletes other versions."""
    renditions = _renditions(out)
    with transaction.atomic():
        current = TranscodeJob.objects.select_for_update().filter(_attempt(job)).first()
        if current is None:
            raise LeaseLost()
        video = Video.objects.select_for_update(of=("self",)).get(pk=job.video_id)
        video.renditions.all().delete()
        Rendition.objects.bulk_create(
            Rendition(video=video, **{**r, "playlist_key": job.output_prefix + r["playlist_key"]}) for r in renditions
        )
        video.hls_prefix = job.output_prefix
        video.master_key = job.output_prefix + keys.MASTER_PLAYLIST
        video.poster_key = job.output_prefix + keys.POSTER
        video.storyboard_key = job.output_prefix + keys.STORYBOARD_VTT
        video.derived_size = size
        video.duration = info.duration
        video.width, video.height = info.displayed_size
        video.status, video.failure_reason = Video.Status.READY, ""
        video.publish_if_due()
        video.save(update_fields=[*PUBLISHED_FIELDS, "published_at", "updated_at"])
        emit("video.ready", video)
        current.status, current.progress, current.finished_at = Job.SUCCEEDED, 1.0, timezone.now()
        current.save(update_fields=["status", "progress", "finished_at"])
        keep = job.output_prefix
        transaction.on_commit(lambda: _delete_other_versions(video, keep))
    return True


def _delete_other_versions(video: Video, keep: str) -> None:
    """Old versions and the leftovers of killed attempts: everything under hls/ but `keep`."""
    hls = keys.hls_root(video.pk)
    if storage.uses_s3():
        client, bucket = storage.s3_client(), storage.s3_bucket()
        prefixes: set[str] = set()
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=hls, Delimiter="/"):
            prefixes.update(p["Prefix"] for p in page.get("CommonPrefixes", []))
    else:
        prefixes = {
            f"{hls}{name}/" for name in (default_storage.listdir(hls)[0] if default_storage.exists(hls) else [])
        }
    for prefix in prefixes - {keep}:
        storage.delete_prefix(prefix)


def version_move(*, video_id: uuid.UUID | str) -> bool:
    """Moves the published version to a fresh prefix and deletes the old one, for a video that is
    no longer public (or became gated) while PLAYBACK_PUBLIC_BASE_URL served its files: their public
    URLs were handed out and would keep working for as long as the files exist. True if moved."""
    video = Video.objects.filter(pk=video_id).first()
    if video is None or not video.hls_prefix:
        return False
    if video.visibility == Video.Visibility.PUBLIC and not VideoPlan.objects.filter(video=video).exists():
        return False  # public again meanwhile: nothing to hide
    old, new = video.hls_prefix, keys.hls_version_prefix(video.pk, uuid.uuid4(), 0)
    _copy_prefix(old, new)
    # an uploaded poster lives outside the version: it moves to a fresh id of its own
    old_poster, new_poster = video.custom_poster_id, uuid.uuid4()
    if old_poster:
        _copy_prefix(keys.poster_prefix(video.pk, old_poster), keys.poster_prefix(video.pk, new_poster))
    with transaction.atomic():
        locked = Video.objects.select_for_update(of=("self",)).filter(pk=video.pk, hls_prefix=old).first()
        poster_moves = bool(old_poster) and locked is not None and locked.custom_poster_id == old_poster
        if old_poster:  # the copy that did not get used goes: the new one, or the old one once replaced
            unused = keys.poster_prefix(video.pk, old_poster if poster_moves else new_poster)
            transaction.on_commit(partial(storage.delete_prefix, unused))
        if locked is None:  # a transcode published another version meanwhile (and deletes this one)
            transaction.on_commit(partial(storage.delete_prefix, new))
            return False
        locked.hls_prefix = new
        for field in ("master_key", "poster_key", "storyboard_key"):
            setattr(locked, field, new + getattr(locked, field).removeprefix(old))
        if poster_moves:
            locked.custom_poster_id = new_poster
        locked.save(
            update_fields=["hls_prefix", "master_key", "poster_key", "storyboard_key", "custom_poster_id", "updated_at"]
        )
        for rendition in locked.renditions.all():
            rendition.playlist_key = new + rendition.playlist_key.removeprefix(old)
            rendition.save(update_fields=["playlist_key"])
        transaction.on_commit(partial(storage.delete_prefix, old))
    return True


def _copy_prefix(source: str, target: str) -> None:
    """Copies every object under `source` to the same relative key under `target` (server-side on S3)."""
    if storage.uses_s3():
        client, bucket = storage.s3_client(), storage.s3_bucket()
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=source):
            for obj in page.get("Contents", []):
                key = target + obj["Key"].removeprefix(source)
                client.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": obj["Key"]})
        return
    folders, files = default_storage.listdir(source)
    for name in files:
        with default_storage.open(source + name, "rb") as handle:
            storage.save_exactly(target + name, File(handle))
    for folder in folders:
        _copy_prefix(f"{source}{folder}/", f"{target}{folder}/")


def _fail(job: TranscodeJob, error: str, log_tail: str, *, retry: bool) -> None:
    """Records a failed attempt. With attempts left and a retryable error the job goes back to
    the queue; otherwise it fails, and so does the video unless an older version stays playable."""
    with transaction.atomic():
        current = TranscodeJob.objects.select_for_update().filter(_attempt(job)).first()
        if current is None:
            return
        again = retry and current.attempts < current.max_attempts
        current.status = Job.QUEUED if again else Job.FAILED
        current.error, current.log_tail = error[:2000], log_tail[-4000:]
        current.finished_at = None if again else timezone.now()
        current.save(update_fields=["status", "error", "log_tail", "finished_at"])
        if not again:
            _fail_video(job.video_id, error[:500])
    transaction.on_commit(lambda: storage.delete_prefix(job.output_prefix))


def jobs_reap() -> dict[str, int]:
    """Running jobs whose heartbeat stopped (their worker died or hangs): back to the queue while
    attempts remain, else failed. Then what a lost queue message left waiting (`_resend_lost`)."""
    now = timezone.now()
    requeued = failed = 0
    for job_id in list(selectors.jobs_stuck_running(now).values_list("pk", flat=True)):
        with transaction.atomic():
            job = (
                selectors.jobs_stuck_running(now).select_for_update().select_related("video").filter(pk=job_id).first()
            )
            if job is None:
                continue
            stale_prefix = job.output_prefix
            # owners read `error`; the worker's host and pid stay in the log and the admin's worker field
            logger.warning("transcode %s: worker %s stopped responding", job.pk, job.worker)
            if job.attempts < job.max_attempts:
                job.status, job.error = Job.QUEUED, "The transcode worker stopped responding; requeued."
                job.save(update_fields=["status", "error"])
                _enqueue_on_commit(job, job.video)
                requeued += 1
            else:
                job.status, job.finished_at = Job.FAILED, timezone.now()
                job.error = "The transcode worker stopped responding; no attempts left."
                job.save(update_fields=["status", "error", "finished_at"])
                _fail_video(job.video_id, "Transcoding did not finish.")
                failed += 1
            if stale_prefix:
                transaction.on_commit(partial(storage.delete_prefix, stale_prefix))
    resent_jobs, resent_probes = _resend_lost()
    return {"requeued": requeued, "failed": failed, "resent_jobs": resent_jobs, "resent_probes": resent_probes}


def job_waiting(job_id: uuid.UUID | str) -> None:
    """A queued job whose message is alive (it waits for its owner's share of workers): its
    `heartbeat_at` says so, and the reaper does not send it again (`_resend_lost`)."""
    TranscodeJob.objects.filter(pk=job_id, status=Job.QUEUED).update(heartbeat_at=timezone.now())


def _resend_lost() -> tuple[int, int]:
    """Jobs `queued` for TRANSCODE_QUEUED_TIMEOUT (since created, or since their last attempt's
    heartbeat) and videos `uploaded` that long with no active job: their message was lost (a
    broker restarted without its data), so it is sent again. A duplicate is harmless (only one
    claim wins, the probe checks the status); the timestamp is renewed so each is resent at most
    once per timeout."""
    from videos.tasks import probe_source

    now = timezone.now()
    jobs = 0
    for job in selectors.jobs_waiting_too_long(now).select_related("video"):
        with transaction.atomic():
            if selectors.jobs_waiting_too_long(now).filter(pk=job.pk).update(heartbeat_at=now):
                _enqueue_on_commit(job, job.video)
                jobs += 1
    probes = 0
    for video_id in list(selectors.videos_uploaded_without_job(now).values_list("pk", flat=True)):
        with transaction.atomic():
            if selectors.videos_uploaded_without_job(now).filter(pk=video_id).update(updated_at=now):
                transaction.on_commit(partial(probe_source.delay, str(video_id)))
                probes += 1
    return jobs, probes
