"""The dual hard/soft trace: what it records, its reports, JSON and SVG export."""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import gradlab as gl
import gradlab.soft as soft


def _program(x, beta=2.0):
    branch = soft.soft_if(x[0] - 0.5, x[1] ** 2, -x[1], beta=beta)
    top = soft.soft_max(x, 1.0 / beta)
    ordered = soft.soft_sort(x, 1.0 / beta)
    loop = soft.bounded_loop(x[2], 3, lambda s: s + 1.0, lambda s: 1.5 - s, beta=beta,
                             mode="exit_distribution")
    st = soft.diff_if(x[3], lambda: 3.0 * x[3], lambda: x[3], mode="straight_through")
    path = soft.diff_if(x[3], lambda: 3.0 * x[3], lambda: x[3], mode="pathwise")
    return branch + top + np.sum(ordered * np.arange(4.0)) + loop + st + path


X = np.array([0.9, 1.5, 0.2, -0.4])


def test_trace_records_every_decision_with_hard_and_soft_values():
    with soft.trace(fidelity=True) as tr:
        gl.grad(_program)(X)
    kinds = [(d.kind, d.name) for d in tr.decisions]
    assert kinds == [("branch", "soft_if"), ("select", "soft_max"), ("sort", "soft_sort"),
                     ("loop", "bounded_loop[exit_distribution]"),
                     ("branch", "diff_if[straight_through]"), ("branch", "diff_if[pathwise]")]
    branch = tr.decisions[0]
    gate = 1.0 / (1.0 + np.exp(-2.0 * 0.4))
    assert branch.hard == pytest.approx(2.25) and branch.hard_choice is True
    assert branch.soft == pytest.approx(gate * 2.25 + (1 - gate) * -1.5)
    assert branch.agreement == pytest.approx(gate)
    assert branch.entropy == pytest.approx(-(gate * np.log2(gate) + (1 - gate) * np.log2(1 - gate)))
    assert branch.gap == pytest.approx(abs(branch.soft - 2.25))
    assert branch.where.endswith(f"test_soft_trace.py:{_program.__code__.co_firstlineno + 1}")
    loop = tr.decisions[3]
    assert loop.hard == pytest.approx(2.2) and loop.hard_choice == 2.0  # 0.2 -> 1.2 -> 2.2
    assert [f["step"] for f in loop.frames] == [0, 1, 2]
    assert sum(f["exit_weight"] for f in loop.frames) < 1.0  # the rest: never exiting
    st, path = tr.decisions[4], tr.decisions[5]
    assert st.soft == st.hard == pytest.approx(-0.4) and st.gap == 0.0
    assert path.soft == path.hard == pytest.approx(-0.4) and path.agreement == 1.0


def test_ledger_states_each_gradient_contract():
    with soft.trace() as tr:
        _program(X)
    contracts = {e["decision"]: e["gradient_contract"] for e in tr.ledger()}
    assert contracts["branch soft_if"] == "surrogate"
    assert contracts["branch diff_if[straight_through]"] == "hard-forward-soft-backward"
    assert contracts["branch diff_if[pathwise]"] == "exact-selected-path"
    for entry in tr.ledger():
        assert entry["bias_warning"] and entry["recommended_checks"]
        assert entry["where"].rsplit(":", 1)[1].isdigit()


def test_fidelity_report_and_hard_path():
    with soft.trace() as tr:
        _program(X, beta=50.0)
    report = tr.fidelity_report()
    assert report["decisions"] == 6 and len(report["rows"]) == 6
    assert report["max_gap"] < 0.05 and report["differs"] == 0
    with soft.trace() as warm:
        _program(X, beta=0.5)
    assert warm.fidelity_report()["max_gap"] > 10 * report["max_gap"]
    path = dict(tr.hard_path())
    assert path["sort soft_sort"] == [3.0, 2.0, 0.0, 1.0]  # argsort of X, row by row
    assert path["select soft_max"] == 1.0 and path["branch soft_if"] is True


def test_fidelity_off_records_meaning_without_hard_values():
    with soft.trace(fidelity=False) as tr:
        _program(X)
    assert len(tr.decisions) == 6
    assert all(d.hard is None and d.gap is None and d.status == "unmeasured"
               for d in tr.decisions)


def test_no_trace_records_nothing_and_nested_traces_record_innermost():
    from gradlab.soft.dual import active

    assert active() is None
    with soft.trace() as outer:
        with soft.trace() as inner:
            soft.soft_max(X)
        soft.soft_min(X)
    assert [d.name for d in inner.decisions] == ["soft_max"]
    assert [d.name for d in outer.decisions] == ["soft_min"]
    assert outer.decisions[0].hard == pytest.approx(-0.4)
    assert active() is None


def test_trace_under_vmap_records_without_values():
    with soft.trace() as tr:
        gl.vmap(lambda x: soft.soft_if(x, 1.0, 0.0))(np.array([-1.0, 1.0]))
    (d,) = tr.decisions
    assert d.soft is None and "vmap" in d.note


def test_json_round_trips():
    with soft.trace() as tr:
        _program(X)
    text = tr.to_json()
    back = soft.SoftTrace.from_json(text)
    assert back.to_json() == text
    assert back.decisions == tr.decisions
    assert json.loads(text)["decisions"][0]["name"] == "soft_if"


def test_show_prints_one_row_per_decision(capsys):
    with soft.trace() as tr:
        _program(X)
    text = tr.show()
    assert capsys.readouterr().out.strip() == text.strip()
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["#", "decision", "where"] and len(lines) == 2 + 6
    assert "diff_if[pathwise]" in lines[-1] and "agrees" in lines[-1]


def test_hybrid_loss_value_and_gradient():
    soft_out, hard, target = np.array([0.8, 0.1]), np.array([1.0, 0.0]), np.array([1.0, 1.0])
    want = np.mean((soft_out - target) ** 2) + 0.5 * np.mean((soft_out - hard) ** 2)
    assert float(soft.hybrid_loss(soft_out, hard, target, 0.5)) == pytest.approx(want)
    g = gl.grad(lambda s: soft.hybrid_loss(s, hard, target, 0.5))(soft_out)
    np.testing.assert_allclose(g, (soft_out - target) + 0.5 * (soft_out - hard))
    g_hard = gl.grad(lambda h: soft.hybrid_loss(soft_out, h, target, 0.5))(hard)
    np.testing.assert_array_equal(g_hard, [0.0, 0.0])  # the hard value is a fixed target


def test_temperature_sweep_gap_shrinks_with_temperature():
    rows = soft.temperature_sweep(lambda t: soft.soft_sort(X, t), [1.0, 0.3, 0.1, 0.01])
    gaps = [r["max_gap"] for r in rows]
    assert gaps == sorted(gaps, reverse=True) and gaps[-1] < 1e-6 < gaps[0]
    assert [r["temperature"] for r in rows] == [1.0, 0.3, 0.1, 0.01]


def test_svg_parses_with_one_coloured_row_per_decision(tmp_path):
    with soft.trace() as tr:
        _program(X)
    path = tr.export_svg(tmp_path / "trace.svg")
    root = ET.parse(path).getroot()
    texts = "".join(root.itertext())
    for d in tr.decisions:
        assert f"{d.index}. {d.kind} {d.name}" in texts
        assert d.status in texts
    assert "agrees" in texts and "bar = weight on the hard path" in texts


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="headless chromium is not installed (needed to render the SVG)")
def test_svg_renders_in_headless_chromium(tmp_path):
    from PIL import Image

    with soft.trace() as tr:
        _program(X)
    svg = tr.export_svg(tmp_path / "trace.svg")
    png = tmp_path / "trace.png"
    run = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={png}",
         "--window-size=920,300", f"file://{svg}"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and png.exists(), run.stderr[-2000:]
    pixels = np.asarray(Image.open(png).convert("RGB"), float)
    assert pixels.shape[:2] == (300, 920)
    assert pixels.std() > 10.0  # not blank: text, bars and coloured rows
    # the first row's status colour is really drawn (red, amber or green)
    colours = {tuple(c) for c in pixels.reshape(-1, 3).astype(int)}
    assert colours & {(198, 40, 40), (249, 168, 37), (46, 125, 50)}


@pytest.mark.parametrize("name", ["dual", "relaxations", "loops", "decisions", "watch", ""])
def test_soft_module_docstring_examples(name):
    import doctest
    import importlib

    module = importlib.import_module("gradlab.soft" + (f".{name}" if name else ""))
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
    assert callable(soft.audit) and callable(soft.relax)  # functions, not submodules


def test_soft_decisions_example_learns_each_hard_program(capsys):
    from gradlab.examples import MODELS, soft_decisions

    assert "gradlab.examples.soft_decisions" in MODELS
    metrics = soft_decisions.train(quick=True)
    assert metrics["test_acc"] > 0.95 and abs(metrics["threshold"] - 0.7) < 0.1
    assert metrics["tree_move_acc"] >= 0.85
    assert metrics["sort_pair_acc"] > 0.95
    assert metrics["path_acc"] >= 0.75
    out = capsys.readouterr().out
    losses = [float(line.rsplit(" ", 1)[1]) for line in out.splitlines() if " loss " in line]
    assert losses[-1] < 0.5 * losses[0] and "gradient check passed" in out


def _hard_program(x, t):
    y = np.where(x > t, x ** 2, 0.0)
    return np.sum(y) + x[np.argmax(x)] + np.sum(np.floor(x))


def test_watch_records_hard_ops_and_keeps_the_program():
    x = np.array([0.2, 0.9, 1.4])
    with soft.trace() as tr:
        watched = tr.watch(_hard_program)
        g = gl.grad(watched)(x, 0.5)
        g = gl.grad(watched)(x, 0.5)
    np.testing.assert_allclose(g, gl.grad(_hard_program)(x, 0.5))
    assert float(watched(x, 0.5)) == pytest.approx(_hard_program(x, 0.5))
    names = [(d.kind, d.name, d.status) for d in tr.decisions]
    assert names[:3] == [("op", "greater", "hard"), ("op", "argmax", "hard"),
                         ("op", "floor", "hard")]
    first = _hard_program.__code__.co_firstlineno
    assert tr.decisions[0].where.endswith(f"test_soft_trace.py:{first + 1}")
    assert tr.decisions[0].contract == "exact-selected-path"
    # vmap and second-order derivatives go through the level unchanged
    batch = np.stack([x, 2 * x])
    np.testing.assert_allclose(gl.vmap(watched, in_axes=(0, None))(batch, 0.5),
                               [_hard_program(b, 0.5) for b in batch])
    gl.check_grads(lambda v: tr.watch(lambda z: np.sum(soft.soft_sort(z, 0.5) * z))(v), x,
                   order=2)


def test_relaxations_compose_with_checkpoint():
    x = np.array([0.3, -1.2, 2.0, 0.5])

    def block(v):
        return soft.soft_sort(v, 0.5) * soft.soft_if(v, 1.0, v ** 2, beta=2.0)

    def plain(v):
        return np.sum(block(v) ** 2)

    def checkpointed(v):
        return np.sum(gl.checkpoint(block)(v) ** 2)

    np.testing.assert_allclose(gl.grad(checkpointed)(x), gl.grad(plain)(x), rtol=1e-12)
    gl.check_grads(checkpointed, x, order=2)


def _uses_logsumexp(x):
    return soft.soft_max(x, 0.5) + np.sum(np.floor(x))


def test_watch_records_only_the_users_own_hard_ops():
    # soft_max's logsumexp compares internally: that is no decision of the user's
    with soft.trace() as tr:
        gl.grad(tr.watch(_uses_logsumexp))(np.array([0.2, 1.7]))
    assert [(d.kind, d.name) for d in tr.decisions] == [("select", "soft_max"), ("op", "floor")]
