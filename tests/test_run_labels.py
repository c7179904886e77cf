"""Run labels tell every run apart."""

from gdviz.core.lessons import load_lessons
from gdviz.core.presets import load_presets
from gdviz.core.session import RunSpec, run_labels


def test_distinct_runs_keep_the_short_label():
    runs = [RunSpec("gd", {"lr": 0.1}), RunSpec("adam", {"lr": 0.05}), RunSpec("newton")]
    assert run_labels(runs) == ["1. gd  lr=0.1", "2. adam  lr=0.05", "3. newton"]


def test_twins_say_what_differs():
    sched = [RunSpec("gd", {"lr": 0.1}), RunSpec("gd", {"lr": 0.1}, schedule="inverse_time:k=0.05")]
    assert run_labels(sched) == [
        "1. gd  lr=0.1 · constant",
        "2. gd  lr=0.1 · inverse_time:k=0.05",
    ]
    starts = [RunSpec("gd", {"lr": 0.05}, start=(1.0, 2.5)), RunSpec("gd", {"lr": 0.05})]
    assert run_labels(starts) == [
        "1. gd  lr=0.05 · from (1, 2.5)",
        "2. gd  lr=0.05 · from the start",
    ]
    params = [
        RunSpec("momentum", {"lr": 0.05, "momentum": 0.9}),
        RunSpec("momentum", {"lr": 0.05}),
        RunSpec("adam", {"lr": 0.05}),
    ]
    assert run_labels(params) == [
        "1. momentum  lr=0.05 · momentum=0.9",
        "2. momentum  lr=0.05 · momentum=default",
        "3. adam  lr=0.05",
    ]


def test_batch_sizes_tell_data_runs_apart():
    runs = [RunSpec("gd", {"lr": 0.05})] * 3
    assert run_labels(runs, [None, 1, 16]) == [
        "1. gd  lr=0.05 · full batch",
        "2. gd  lr=0.05 · batch 1",
        "3. gd  lr=0.05 · batch 16",
    ]
    # The last size holds for the runs beyond the list; same sizes add nothing.
    assert run_labels(runs, [8]) == ["1. gd  lr=0.05", "2. gd  lr=0.05", "3. gd  lr=0.05"]


def test_every_shipped_session_has_distinct_labels():
    sessions = [p.session for p in load_presets()] + [les.session for les in load_lessons()]
    for s in sessions:
        sizes = None if s.data is None else [s.data.batch_size(i) for i in range(len(s.runs))]
        labels = [label.split(". ", 1)[1] for label in run_labels(s.runs, sizes)]
        assert len(set(labels)) == len(labels), labels
