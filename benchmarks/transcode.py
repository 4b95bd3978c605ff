"""How long the project's transcoding pipeline takes on a 1080p30 clip, next to the naive way (one ffmpeg process per
rendition, each decoding the source, as MediaCMS does) and next to the project's own ffmpeg ladder command alone, and
whether its time grows linearly with the clip's length.

    make bench-transcode    # = scripts/with_services.py -- python -m benchmarks.transcode

(a) pipeline: `transcode_queue(enqueue=False)` + `run_job()` in this process: download the source from S3 (moto),
    probe, the one-decode ladder with poster and storyboard, the VTT, upload everything to S3, publish (PostgreSQL).
(b) naive: one ffmpeg per rung of the same plan (same preset, bitrates, GOP, segments), run one after the other, each
    writing its own HLS fMP4 rendition from the local file; no poster, storyboard, master playlist, upload or DB.
(c) ladder: `videos.pipeline.ladder.ffmpeg_args(plan, source, out)` as a subprocess on the local file; no S3, no DB.
(d) decode only: what each of (b)'s extra decodes costs.
(e) the pipeline (a) on a clip BENCH_LONG_SECONDS long (120 s), in BENCH_LONG_ROUNDS of the rounds only (spread
    over them) to keep the default run near 15 minutes on 2 CPUs.

The variants take turns in rotating order each round; the tables show medians. "cores" = CPU time / wall time (user +
sys of this process and its ffmpeg/ffprobe children; moto's CPU is not counted). The run ends with a targets block,
one line each, `ok` or `MISS` (a MISS is reported, not an error):
  a/b <= 0.75 by wall time and by CPU time; a/c <= 1.05 by wall time; (a) keeps >= 1.85 of 2 cores busy (0.925 of
  the CPUs ffmpeg may use, `ladder.available_cores()`); and (e) scales linearly: e/a within 10% of the clips'
  length ratio (4 +- 0.4 for 120 s vs 30 s). Wall-time targets mean something only on a quiet machine: the load
  average is printed before the run and with every round.

Environment: BENCH_ROUNDS (5), BENCH_SECONDS (30: length of the clip), BENCH_LONG_SECONDS (120; 0 skips (e)),
BENCH_LONG_ROUNDS (2), BENCH_LAVFI (the lavfi video source of the clips), BENCH_CACHE (folder where the clips are
kept between runs; a temp folder by default). TRANSCODE_THREADS applies as in production.
"""

import contextlib
import hashlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

ROUNDS = int(os.environ.get("BENCH_ROUNDS", 5))
SECONDS = int(os.environ.get("BENCH_SECONDS", 30))
LONG_SECONDS = int(os.environ.get("BENCH_LONG_SECONDS", 120))
LONG_ROUNDS = min(ROUNDS, int(os.environ.get("BENCH_LONG_ROUNDS", 2)))
# testsrc2 with light temporal noise: ~20 Mbit/s at CRF 18 (a phone camera's bitrate) and real work for x264.
LAVFI = os.environ.get("BENCH_LAVFI", "testsrc2=size=1920x1080:rate=30,noise=alls=3:allf=t")
CACHE = Path(os.environ.get("BENCH_CACHE", Path(tempfile.gettempdir()) / "vod-bench-transcode"))
TARGET_AB = 0.75  # by wall time and by CPU time
TARGET_AC = 1.05
TARGET_CORES = 1.85 / 2  # of the CPUs ffmpeg may use
TARGET_LINEAR = 0.10  # e/a within this fraction of the length ratio
VARIANTS = {
    "a": "pipeline: S3 -> probe -> ladder -> VTT -> S3, DB",
    "b": "naive: one ffmpeg per rung, sequential",
    "c": "ladder ffmpeg command alone",
    "d": "decode the source only (what each decode costs)",
    "e": f"pipeline (a) on the {LONG_SECONDS} s clip",
}
# The functions run_job calls, by module attribute, and the phase each one is counted in.
PHASES = [
    ("videos.pipeline.jobs", "_claim", "claim (DB)"),
    ("videos.pipeline.jobs", "_fetch_source", "download source (S3)"),
    ("videos.pipeline.jobs", "probe", "probe (ffprobe)"),
    ("videos.pipeline.ladder", "run", "ffmpeg ladder"),
    ("videos.pipeline.ladder", "write_storyboard_vtt", "storyboard VTT"),
    ("videos.pipeline.jobs", "_upload", "upload outputs (S3)"),
    ("videos.pipeline.jobs", "_publish", "publish (DB, old versions)"),
]


def setup_django() -> None:
    if "DATABASE_URL" not in os.environ or "S3_BUCKET" not in os.environ:
        sys.exit("run under scripts/with_services.py (needs DATABASE_URL, REDIS_URL, S3_*)")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vod.settings")
    os.environ.setdefault("DJANGO_DEBUG", "false")  # no query log kept in memory
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)

    from videos import storage

    client, bucket = storage.s3_client(), storage.s3_bucket()
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=bucket)  # moto starts empty


def make_source(seconds: int) -> Path:
    """The 1080p30 clip with a sine tone, encoded once (x264 ultrafast CRF 18 + AAC) and kept in CACHE."""
    key = hashlib.sha256(f"{LAVFI}|{seconds}".encode()).hexdigest()[:12]
    path = CACHE / f"source-{seconds}s-{key}.mp4"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part.mp4")
    print(f"encoding the {seconds} s source clip into {path} (once) ...", flush=True)
    args = ["ffmpeg", "-hide_banner", "-nostdin", "-y", "-loglevel", "error"]
    args += ["-t", str(seconds), "-f", "lavfi", "-i", LAVFI]
    args += ["-f", "lavfi", "-i", f"sine=frequency=440:beep_factor=4:sample_rate=48000:duration={seconds}"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-pix_fmt", "yuv420p"]
    args += ["-c:a", "aac", "-b:a", "128k", "-ac", "2", "-shortest", "-movflags", "+faststart", str(partial)]
    subprocess.run(args, check=True)
    partial.rename(path)
    return path


def cpu_seconds() -> float:
    """User + system time of this process and its finished children (ffmpeg, ffprobe); not moto's."""
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    )


@contextlib.contextmanager
def timed_phases(into: dict[str, float]) -> Iterator[None]:
    """Wraps the functions run_job looks up at call time so each one adds its duration to `into`."""
    import importlib

    saved = []

    def wrap(function, label):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                into[label] += time.perf_counter() - start

        return timed

    for module_name, attribute, label in PHASES:
        module = importlib.import_module(module_name)
        original = getattr(module, attribute)
        saved.append((module, attribute, original))
        setattr(module, attribute, wrap(original, label))
    try:
        yield
    finally:
        for module, attribute, original in saved:
            setattr(module, attribute, original)


class Bench:
    def __init__(self, source: Path, owner):
        from videos.pipeline import ladder, probing

        self.source = source
        self.size = source.stat().st_size
        self.info = probing.probe(source)
        self.plan = ladder.plan_for(self.info)
        self.owner = owner
        self.phases: list[dict[str, float]] = []

    def run_a(self) -> float:
        """The pipeline end to end; storing the source beforehand and clearing S3 afterwards are not timed."""
        from videos.catalog.services import delete_storage, video_create
        from videos.models import Video
        from videos.pipeline.jobs import run_job, transcode_queue
        from videos.uploads.services import source_upload

        video = video_create(owner=self.owner, title="bench transcode")
        with open(self.source, "rb") as stream:
            video = source_upload(video=video, stream=stream, content_length=self.size, enqueue_probe=False)
        phases: dict[str, float] = defaultdict(float)
        with timed_phases(phases):
            start = time.perf_counter()
            queued = time.perf_counter()
            job = transcode_queue(video=video, enqueue=False)
            phases["queue job (DB)"] += time.perf_counter() - queued
            published = run_job(job.pk)
            elapsed = time.perf_counter() - start
        phases["other (temp folder, plan...)"] = elapsed - sum(phases.values())
        self.phases.append(phases)
        job.refresh_from_db()
        video.refresh_from_db()
        if not published or video.status != Video.Status.READY:
            raise RuntimeError(f"the pipeline did not publish: job {job.status} {job.error!r}\n{job.log_tail}")
        if video.renditions.count() != len(self.plan.rungs):
            raise RuntimeError(f"{video.renditions.count()} renditions published, {len(self.plan.rungs)} planned")
        delete_storage(video_id=str(video.pk))  # keeps moto's memory flat across rounds
        video.delete()
        return elapsed

    def naive_args(self, rung, out: Path) -> list[str]:
        """One rendition from the source, with the settings the ladder uses for this rung."""
        from videos.pipeline.ladder import profile
        from videos.pipeline.probing import SAFE_INPUT_OPTIONS

        config, plan = profile(), self.plan
        gop = max(1, round(plan.fps * config["gop_seconds"]))
        scale = f"scale={rung.short_side}:-2" if plan.portrait else f"scale=-2:{rung.short_side}"
        args = ["ffmpeg", "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *SAFE_INPUT_OPTIONS]
        args += ["-i", str(self.source), "-map", "0:v:0", "-vf", f"{scale},setsar=1"]
        args += ["-c:v", "libx264", "-preset", config["x264_preset"], "-profile:v", "high", "-pix_fmt", "yuv420p"]
        args += ["-b:v", f"{rung.video_kbps}k", "-maxrate", f"{int(rung.video_kbps * 1.1)}k"]
        args += ["-bufsize", f"{rung.video_kbps * 2}k"]
        args += ["-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0"]
        args += ["-force_key_frames", f"expr:gte(t,n_forced*{plan.segment_seconds})"]
        if plan.has_audio:
            args += ["-map", "0:a:0", "-c:a", "aac", "-b:a", f"{config['audio_kbps']}k", "-ac", "2", "-ar", "48000"]
        args += ["-f", "hls", "-hls_time", str(plan.segment_seconds), "-hls_playlist_type", "vod"]
        args += ["-hls_segment_type", "fmp4", "-hls_flags", "independent_segments"]
        args += ["-hls_fmp4_init_filename", "init.mp4", "-hls_segment_filename", str(out / "seg_%05d.m4s")]
        args += [str(out / "index.m3u8")]
        return args

    def run_b(self) -> float:
        with tempfile.TemporaryDirectory(prefix="vod-bench-naive-") as folder:
            start = time.perf_counter()
            for rung in self.plan.rungs:
                out = Path(folder) / rung.name
                out.mkdir()
                ffmpeg(self.naive_args(rung, out), out)
            elapsed = time.perf_counter() - start
            missing = [r.name for r in self.plan.rungs if not (Path(folder) / r.name / "index.m3u8").exists()]
            if missing:
                raise RuntimeError(f"the naive encode wrote no playlist for {missing}")
        return elapsed

    def run_c(self) -> float:
        from videos.pipeline.ladder import ffmpeg_args

        with tempfile.TemporaryDirectory(prefix="vod-bench-ladder-") as folder:
            out = Path(folder)
            start = time.perf_counter()
            ffmpeg(ffmpeg_args(self.plan, self.source, out), out)
            elapsed = time.perf_counter() - start
            if not (out / "master.m3u8").exists() or not (out / "poster.jpg").exists():
                raise RuntimeError("the ladder wrote no master playlist or poster")
        return elapsed

    def run_d(self) -> float:
        """The decode every naive rung repeats and the ladder does once; the most it can save per extra rung."""
        from videos.pipeline.probing import SAFE_INPUT_OPTIONS

        args = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", *SAFE_INPUT_OPTIONS]
        args += ["-i", str(self.source), "-map", "0:v:0", "-f", "null", "-"]
        start = time.perf_counter()
        ffmpeg(args, CACHE)
        return time.perf_counter() - start


def ffmpeg(args: list[str], cwd: Path) -> None:
    result = subprocess.run(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"ffmpeg exited with {result.returncode}: {result.stderr.decode(errors='replace')[-2000:]}")


def describe(bench: Bench) -> str:
    info, size = bench.info, bench.size
    return (
        f"source: {info.width}x{info.height} {info.frame_rate:g} fps {info.video_codec}+{info.audio_codec}, "
        f"{info.duration:.1f} s, {size / 1e6:.1f} MB ({size * 8 / info.duration / 1e6:.1f} Mbit/s), {bench.source}"
    )


def target(label: str, value: float, goal: str, met: bool) -> str:
    return f"  {label:<44} {value:6.2f}  {goal:<22} {'ok' if met else 'MISS'}"


def main() -> int:
    setup_django()
    from accounts.models import User
    from videos.pipeline.ladder import available_cores, profile, thread_counts

    owner = User.objects.create_user("bench-transcode@example.com", "bench_transcode", None)
    bench = Bench(make_source(SECONDS), owner)
    long_bench = Bench(make_source(LONG_SECONDS), owner) if LONG_SECONDS else None
    plan = bench.plan
    cores = available_cores()
    filter_threads, rung_threads = thread_counts(plan.rungs, cores)
    print(describe(bench))
    if long_bench:
        print(describe(long_bench))
    print(
        f"ladder: {', '.join(f'{r.name} {r.video_kbps}k' for r in plan.rungs)}; x264 {profile()['x264_preset']}, "
        f"{plan.segment_seconds} s segments; {os.cpu_count()} CPUs, ffmpeg uses {cores} (filter threads "
        f"{filter_threads}, x264 threads {'/'.join(map(str, rung_threads))}); {ROUNDS} rounds, (e) in {LONG_ROUNDS}; "
        f"load average before the run {' '.join(f'{load:.2f}' for load in os.getloadavg())}\n",
        flush=True,
    )
    runners = {"a": bench.run_a, "b": bench.run_b, "c": bench.run_c, "d": bench.run_d}
    pipelines = {"a": bench}
    if long_bench:
        runners["e"], pipelines["e"] = long_bench.run_a, long_bench
    long_rounds = {round(index * ROUNDS / LONG_ROUNDS) for index in range(LONG_ROUNDS)} if long_bench else set()
    times: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    names = ["a", "b", "c", "d"]
    for round_number in range(ROUNDS):
        order = names[round_number % len(names) :] + names[: round_number % len(names)]
        if round_number in long_rounds:
            order.append("e")
        for name in order:
            cpu_before = cpu_seconds()
            elapsed = runners[name]()
            times[name].append(elapsed)
            cpu[name].append(cpu_seconds() - cpu_before)
            detail = ""
            if name in pipelines:
                encode = pipelines[name].phases[-1]["ffmpeg ladder"]
                detail = f"; ffmpeg {encode:.2f} s + the rest {elapsed - encode:.2f} s"
            print(
                f"round {round_number + 1}/{ROUNDS} {name}: {elapsed:7.2f} s  ({cpu[name][-1]:.1f} s CPU, "
                f"{cpu[name][-1] / elapsed:.2f} cores, load average {os.getloadavg()[0]:.1f}{detail})"
            )
            sys.stdout.flush()

    median = {name: statistics.median(values) for name, values in times.items()}
    median_cpu = {name: statistics.median(values) for name, values in cpu.items()}
    used = {name: median_cpu[name] / median[name] for name in median}
    ratios = {"b": f"a/b {median['a'] / median['b']:.2f}", "c": f"a/c {median['a'] / median['c']:.2f}"}
    if "e" in median:
        ratios["e"] = f"e/a {median['e'] / median['a']:.2f}"
    print(f"\n{'variant':<56} {'median s':>9} {'min':>8} {'max':>8} {'ratio':>9} {'CPU s':>7} {'cores':>5}")
    for name, label in VARIANTS.items():
        if name not in times:
            continue
        values = times[name]
        print(
            f"{name} {label:<54} {median[name]:9.2f} {min(values):8.2f} {max(values):8.2f} "
            f"{ratios.get(name, ''):>9} {median_cpu[name]:7.1f} {used[name]:5.2f}"
        )
    print("(b) writes no poster, storyboard or master playlist, uploads nothing and touches no DB.")
    print("CPU s = user+sys of this process and its ffmpeg/ffprobe children (median); moto's CPU is not counted.")
    print(
        f"cores = CPU s / median s. A CPU-bound encode on an idle machine keeps most of the {cores} CPUs "
        "busy; far fewer means other processes took CPU and inflated the wall times: the CPU ratios are steadier.\n"
    )
    rest = statistics.median(sum(p.values()) - p["ffmpeg ladder"] for p in bench.phases)
    print(
        f"(a) outside ffmpeg (S3, probe, VTT, DB): {rest:.2f} s; with ffmpeg as fast as in (c), "
        f"a/c would be {(median['c'] + rest) / median['c']:.2f}"
    )
    extra = len(plan.rungs) - 1
    best = (median["b"] - extra * median["d"] + median["a"] - median["c"]) / median["b"]
    print(
        f"(b) decodes the source {len(plan.rungs)} times, the ladder once: if the ladder cost (b) minus those "
        f"{extra} x {median['d']:.2f} s, a/b would be about {best:.2f}"
    )
    for label, which in pipelines.items():
        print(f"\nwhere ({label}) spends its time (median of {len(which.phases)} runs):")
        for phase in which.phases[0]:
            value = statistics.median(phases[phase] for phases in which.phases)
            print(f"  {phase:<32} {value:8.2f} s  {value / median[label] * 100:5.1f} %")

    print(f"\ntargets (load average now {' '.join(f'{load:.2f}' for load in os.getloadavg())}):")
    wall_ab, cpu_ab = median["a"] / median["b"], median_cpu["a"] / median_cpu["b"]
    print(target("pipeline/naive by wall time (a/b)", wall_ab, f"<= {TARGET_AB:.2f}", wall_ab <= TARGET_AB))
    print(target("pipeline/naive by CPU time (a/b)", cpu_ab, f"<= {TARGET_AB:.2f}", cpu_ab <= TARGET_AB))
    wall_ac = median["a"] / median["c"]
    print(target("pipeline/bare ladder by wall time (a/c)", wall_ac, f"<= {TARGET_AC:.2f}", wall_ac <= TARGET_AC))
    goal = TARGET_CORES * cores
    print(target(f"pipeline cores used (a), of {cores}", used["a"], f">= {goal:.2f}", used["a"] >= goal))
    if "e" in median and long_bench:
        lengths = long_bench.info.duration / bench.info.duration
        scale = median["e"] / median["a"]
        goal_text = f"{lengths:.2f} +- {lengths * TARGET_LINEAR:.2f}"
        linear = abs(scale / lengths - 1) <= TARGET_LINEAR
        print(target(f"{LONG_SECONDS} s clip / {SECONDS} s clip, wall (e/a)", scale, goal_text, linear))
    else:
        print("  the long clip was not run (BENCH_LONG_SECONDS=0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
