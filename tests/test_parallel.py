"""Reading on several processes gives the same results, in the same order, as reading
in one — also with the ``spawn`` start method Windows always uses."""

from __future__ import annotations

import multiprocessing
import random

from builders import filled_application

from xlsxflow.parallel import read_many
from xlsxflow.validation import ValidationContext


def _summary(results):
    return [
        (r.path, r.form, r.instance, r.valid, [p.code for p in r.problems], r.values)
        for r in results
    ]


def test_spawned_workers_give_the_serial_results_in_order(workspace):
    paths = []
    for i in range(70):  # above the serial threshold
        overrides = {"project_name": ""} if i % 7 == 0 else {}
        paths.append(filled_application(workspace, overrides, name=f"r{i:03d}.xlsx"))
    random.Random(1).shuffle(paths)
    ctx = ValidationContext(workspace.config, workspace.roster, workspace.root)
    serial = list(read_many(paths, ctx, workers=1))
    spawned = list(
        read_many(paths, ctx, workers=2, mp_context=multiprocessing.get_context("spawn"))
    )
    assert [r.path for r in spawned] == [str(p) for p in paths]
    assert _summary(spawned) == _summary(serial)
    assert sum(not r.valid for r in serial) == 10
