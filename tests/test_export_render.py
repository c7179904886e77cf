"""Rendering the real scene offscreen into every format, step-locked and deterministic."""

from __future__ import annotations

import errno

import numpy as np
import pytest
from _export_support import decode, listing, read_png

from gdviz.core.engine import RunConfig, run
from gdviz.core.loss import compile_loss
from gdviz.export.plan import ExportError, ExportPlan
from gdviz.export.render import (
    ExportCancelled,
    ExportJob,
    SceneInputs,
    SceneRenderer,
    export_animation,
)
from gdviz.export.writers import PngSequenceWriter

MAGENTA = "#ff00ff"
GREEN = "#00ff00"
SIZE = (320, 240)
STEPS = 40


@pytest.fixture(scope="module")
def inputs() -> SceneInputs:
    loss = compile_loss("x^2 + 3y^2")
    traj = run(
        loss,
        [
            RunConfig("gd", {"lr": 0.05}, (-2.0, 1.5)),
            RunConfig("momentum", {"lr": 0.02}, (2.0, -1.0)),
        ],
        STEPS,
    )
    return SceneInputs(
        loss=loss,
        domain=((-2.5, 2.5), (-2.0, 2.0)),
        trajectory=traj,
        colors=[MAGENTA, GREEN],
        labels=["gd", "momentum"],
        start=(-2.0, 1.5),
    )


def mask(frame: np.ndarray, color: str) -> np.ndarray:
    """Pixels close to a saturated run colour (the colour maps never get there)."""
    f = frame.astype(int)
    if color == MAGENTA:
        return (f[..., 0] > 190) & (f[..., 1] < 90) & (f[..., 2] > 190)
    return (f[..., 0] < 90) & (f[..., 1] > 190) & (f[..., 2] < 90)


def extent(m: np.ndarray) -> tuple[int, int]:
    ys, xs = np.nonzero(m)
    return (int(xs.max() - xs.min()), int(ys.max() - ys.min())) if xs.size else (0, 0)


def assert_shows_paths(first: np.ndarray, last: np.ndarray) -> None:
    """Step 0 shows each run as a dot (and the arrow of its first step); the
    last step shows a long trail."""
    for color in (MAGENTA, GREEN):
        m0, m1 = mask(first, color), mask(last, color)
        assert m0.sum() > 10, f"{color}: start marker not drawn"
        w0, h0 = extent(m0)
        w1, h1 = extent(m1)
        assert max(w0, h0) < 40, f"{color}: more than a dot at step 0"
        assert max(w1, h1) > max(50, 2 * max(w0, h0)), f"{color}: no trail at the last step"
        assert m1.sum() > 1.5 * m0.sum()
        # The trail starts where the run started.
        ys, xs = np.nonzero(m0)
        cy, cx = int(ys.mean()), int(xs.mean())
        assert m1[cy - 4 : cy + 5, cx - 4 : cx + 5].any()


def plan_for(tmp_path, name, **kw) -> ExportPlan:
    kw.setdefault("size", SIZE)
    kw.setdefault("panels", "surface")
    return ExportPlan.create(f"{tmp_path}/{name}", last_step=STEPS, **kw)


def test_renderer_frames_have_the_requested_size_and_change(qapp, inputs):
    with SceneRenderer(inputs, (321, 241), "both", "dark") as r:
        f0 = r.frame(0)
        f1 = r.frame(STEPS)
        assert f0.shape == (241, 321, 3) and f0.dtype == np.uint8
        assert not np.array_equal(f0, f1)
        assert np.array_equal(r.frame(0), f0)  # drawing is a function of the step
        with pytest.raises(ValueError, match="outside the computed steps"):
            r.frame(STEPS + 1)


def test_themes_and_panels_differ(qapp, inputs):
    frames = {}
    for theme in ("light", "dark"):
        for panels in ("both", "surface", "loss"):
            with SceneRenderer(inputs, SIZE, panels, theme) as r:
                frames[theme, panels] = r.frame(STEPS)
    dark, light = frames["dark", "surface"], frames["light", "surface"]
    assert dark.mean() < light.mean()
    assert len({f.tobytes() for f in frames.values()}) == 6
    # The loss panel alone shows the runs' colours too (their loss curves).
    assert mask(frames["light", "loss"], MAGENTA).sum() > 20


def test_png_export_shows_the_paths(qapp, inputs, tmp_path):
    plan = plan_for(tmp_path, "frames/", every=10)
    out = export_animation(plan, inputs)
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"frame_{i:05d}.png" for i in range(5)]  # steps 0, 10, 20, 30, 40
    first, last = read_png(out / names[0]), read_png(out / names[-1])
    assert first.shape == (SIZE[1], SIZE[0], 3)
    assert_shows_paths(first, last)


def test_frames_are_step_locked(qapp, inputs, tmp_path):
    # Frame i is exactly the scene at step i*K, whatever order things ran in.
    out = export_animation(plan_for(tmp_path, "f/", every=20), inputs)
    with SceneRenderer(inputs, SIZE, "surface", "light") as r:
        for i, step in enumerate((0, 20, 40)):
            assert np.array_equal(read_png(out / f"frame_{i:05d}.png"), r.frame(step))


def test_png_export_is_byte_identical(qapp, inputs, tmp_path):
    a = export_animation(plan_for(tmp_path, "a/", every=8, panels="both"), inputs)
    b = export_animation(plan_for(tmp_path, "b/", every=8, panels="both"), inputs)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir()) and len(names) == 6
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.mark.parametrize("name", ["anim.mp4", "anim.gif"])
def test_video_export_reads_back(qapp, inputs, tmp_path, name):
    plan = plan_for(tmp_path, name, every=4, fps=10)
    progress = []
    out = export_animation(plan, inputs, progress=progress.append)
    assert progress == list(range(1, 12))
    video = decode(out)
    assert video.shape == (11, SIZE[1], SIZE[0], 3)
    assert not np.array_equal(video[0], video[-1])
    assert_shows_paths(video[0], video[-1])
    assert listing(tmp_path) == [name]


def test_cancel_leaves_nothing(qapp, inputs, tmp_path):
    for name in ("f/", "a.mp4", "a.gif"):
        seen = []
        with pytest.raises(ExportCancelled):
            export_animation(
                plan_for(tmp_path, name),
                inputs,
                progress=seen.append,
                cancelled=lambda seen=seen: len(seen) >= 3,
            )
        assert seen == [1, 2, 3]
        assert listing(tmp_path) == [], name


def test_full_disk_mid_export_leaves_nothing(qapp, inputs, tmp_path, monkeypatch):
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "frame_00000.png").write_bytes(b"old")
    calls = []
    real = PngSequenceWriter._write

    def write(self, frame):
        calls.append(1)
        if len(calls) == 4:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(self, frame)

    monkeypatch.setattr(PngSequenceWriter, "_write", write)
    with pytest.raises(ExportError, match="no space left on the device"):
        export_animation(plan_for(tmp_path, "f/", force=True), inputs)
    assert listing(tmp_path) == ["f", "f/frame_00000.png"]
    assert (tmp_path / "f" / "frame_00000.png").read_bytes() == b"old"


def test_steps_beyond_the_trajectory_are_refused(qapp, inputs, tmp_path):
    plan = ExportPlan.create(tmp_path / "a.gif", last_step=STEPS + 5, size=SIZE)
    with pytest.raises(ValueError, match="only 40 steps are computed"):
        export_animation(plan, inputs)
    assert listing(tmp_path) == []


def test_one_dimensional_loss(qapp, tmp_path):
    loss = compile_loss("x^4 - 2x^2")
    traj = run(loss, [RunConfig("gd", {"lr": 0.02}, (-1.9,))], 30)
    inputs = SceneInputs(loss, ((-2.0, 2.0),), traj, colors=[MAGENTA])
    out = export_animation(ExportPlan.create(f"{tmp_path}/f/", last_step=30, size=SIZE), inputs)
    frames = [read_png(p) for p in sorted(out.iterdir())]
    assert len(frames) == 31
    assert not np.array_equal(frames[0], frames[-1])
    assert mask(frames[-1], MAGENTA).sum() > mask(frames[0], MAGENTA).sum()


# -- the window's driver --------------------------------------------------------------


def test_job_renders_in_slices_and_keeps_the_loop_running(qtbot, inputs, tmp_path):
    from PySide6.QtCore import QTimer

    job = ExportJob(plan_for(tmp_path, "a.mp4"), inputs, slice_ms=5)
    ticks = []
    timer = QTimer()
    timer.setInterval(0)
    timer.timeout.connect(lambda: ticks.append(1))
    progress = []
    job.progressed.connect(lambda done, total: progress.append((done, total)))
    timer.start()
    with qtbot.waitSignal(job.finished, timeout=60_000) as blocker:
        job.start()
    timer.stop()
    assert blocker.args[0] == tmp_path / "a.mp4"
    assert job.state == "finished"
    assert progress[-1] == (STEPS + 1, STEPS + 1)
    # Several slices, with the event loop running other work between them.
    assert len(progress) > 3
    assert len(ticks) >= len(progress) - 1
    assert decode(tmp_path / "a.mp4").shape[0] == STEPS + 1


def test_job_cancel_removes_partial_output(qtbot, inputs, tmp_path):
    job = ExportJob(plan_for(tmp_path, "a.gif"), inputs, slice_ms=1)
    job.progressed.connect(lambda done, total: job.cancel() if done >= 2 else None)
    with qtbot.waitSignal(job.cancelled, timeout=60_000):
        job.start()
    assert job.state == "cancelled"
    assert listing(tmp_path) == []


def test_job_reports_an_unwritable_target(qtbot, inputs, tmp_path):
    (tmp_path / "file").write_text("x")
    plan = plan_for(tmp_path, "a.mp4")
    blocked = ExportPlan(tmp_path / "file" / "a.mp4", plan.kind, SIZE, 30.0, plan.steps)
    job = ExportJob(blocked, inputs)
    with qtbot.waitSignal(job.failed, timeout=10_000) as blocker:
        job.start()
    assert "is not a directory" in blocker.args[0]
    assert job.state == "failed"


def test_job_cancel_while_finishing_the_file(qtbot, inputs, tmp_path):
    # The GIF's second pass runs after the last frame; Cancel must stop it too.
    job = ExportJob(plan_for(tmp_path, "a.gif", size=(640, 480), panels="both"), inputs)
    job.finishing.connect(job.cancel)
    with qtbot.waitSignals([job.cancelled], timeout=60_000, raising=False) as blocker:
        job.start()
    if job.state == "finished":  # the file was complete before Cancel arrived
        assert decode(tmp_path / "a.gif").shape[0] == STEPS + 1
    else:
        assert blocker.signal_triggered and job.state == "cancelled"
        assert listing(tmp_path) == []


def test_quitting_the_application_cancels_a_running_job(qtbot, qapp, inputs, tmp_path):
    # Emitting aboutToQuit here would reach every other object in the test
    # process; check that the job listens to it instead (disconnecting a slot
    # that is not connected fails).
    job = ExportJob(plan_for(tmp_path, "a.mp4"), inputs)
    job.start()
    assert job.state == "running" and listing(tmp_path) != []
    assert qapp.aboutToQuit.disconnect(job.cancel)
    job.cancel()
    assert job.state == "cancelled"
    assert listing(tmp_path) == []
