"""The compiled projection kernel of demand v3 against its numpy reference (issue 36).

:meth:`~forecast.demand.compute_frontier._LatticeState.run` runs the lattice steps in a
numba kernel; :meth:`~forecast.demand.compute_frontier._LatticeState._run_numpy` is the
same projection in numpy array passes, as it was before the kernel. Both draw the same
random numbers from the generator in the same order and shapes, so for the same seed they
must give the same numbers: the tokens and compute to 1e-12 (in fact bit for bit; -inf
where the reference has -inf) and the same ceiling flags, for every lever the kernel
branches on. Run on the real v3 fit of the bundled table (recorded posterior, no
sampling) and on hand-made lattice states for the edge cases.
"""

from __future__ import annotations

import numpy as np
import pytest

from forecast.demand.compute_frontier import (
    _BLOCK_STEPS,
    ComputeLevers,
    _lattice,
    _LatticeState,
)
from forecast.demand.feasibility import Feasibility


@pytest.fixture(scope="module")
def v3(bundled_demand):
    """The real demand v3 fit of the bundled table (recorded posterior)."""
    return bundled_demand.fits["compute-frontier"]


def _assert_same(kernel: tuple, reference: tuple) -> None:
    assert len(kernel) == len(reference)
    for ours, theirs in zip(kernel, reference, strict=True):
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
        if theirs.dtype == bool:
            np.testing.assert_array_equal(ours, theirs)
        else:
            # infinities in the same places, finite values within 1e-12
            np.testing.assert_array_equal(np.isneginf(ours), np.isneginf(theirs))
            np.testing.assert_allclose(ours, theirs, rtol=0.0, atol=1e-12)


def _both(fit, years, monkeypatch, n=1500, seed=21, **levers):
    """``_simulate`` with ``track`` through the kernel, then through the reference."""
    years = np.asarray(years, dtype=float)

    def simulate():
        return fit.model._simulate(
            fit, years, n, np.random.default_rng(seed), ComputeLevers(**levers), track=True
        )

    kernel = simulate()
    with monkeypatch.context() as patch:
        patch.setattr(_LatticeState, "run", _LatticeState._run_numpy)
        reference = simulate()
    return kernel, reference


def _years(fit) -> np.ndarray:
    """Monthly to 2100 from the data date (several blocks of lattice steps, monthly and
    quarterly ones, so several years per quarterly step), a date before the data date,
    and a few out of order, repeated and exactly on lattice points."""
    t_now = fit.model.data_year(fit)
    monthly = np.arange(2024.0, 2100.0 + 1e-9, 1.0 / 12.0)
    lattice = _lattice(t_now, 2100.0)
    return np.concatenate([monthly, [2090.3, 2031.0, 2031.0, lattice[7], lattice[200]]])


@pytest.mark.parametrize(
    "levers",
    [
        {},
        {"tokens_per_parameter": "held"},
        {"tokens_per_parameter": "trend"},
        {"tokens_per_parameter": "chinchilla"},
        {"tokens_per_parameter": 150.0},
        {"feasibility": "none"},
        {"stall_probability": 1.0},
        {"stall_probability": 0.5, "tokens_per_parameter": "trend"},
        {"overtraining": 5.0, "overtraining_from": 2027.0},
        {"compute_growth": (0.3, 1.2), "overtraining": 5.0, "overtraining_from": 2027.0},
        {"feasibility": "none", "stall_probability": 1.0, "tokens_per_parameter": 20.0},
    ],
    ids=repr,
)
def test_the_kernel_gives_the_reference_numbers_on_the_bundled_fit(v3, monkeypatch, levers):
    kernel, reference = _both(v3, _years(v3), monkeypatch, **levers)
    _assert_same(kernel, reference)
    tokens, compute, capped, wall = kernel
    assert np.isfinite(tokens).all() and np.isfinite(compute).all()
    if levers.get("feasibility") != "none":
        assert capped.any() and wall.any()  # the flags are exercised, not all False
    else:
        assert not capped.any() and not wall.any()


def test_the_kernel_gives_the_reference_numbers_for_a_short_horizon(v3, monkeypatch):
    """One partial block (the generator still draws a whole block)."""
    t_now = v3.model.data_year(v3)
    years = t_now + np.array([0.5, 0.01, 2.0, 1.0])
    kernel, reference = _both(v3, years, monkeypatch, n=777, seed=3)
    _assert_same(kernel, reference)


def _state(levers: ComputeLevers, n: int) -> _LatticeState:
    """A hand-made lattice state with spread parameters (several draws at the ceiling,
    stalls in different windows, streams that rarely release)."""
    rng = np.random.default_rng(4)
    t_now = 2026.25
    return _LatticeState(
        t_now=t_now,
        edge_now=rng.normal(27.0, 0.5, n),
        growth=rng.uniform(0.0, 1.5, n),
        edge_step_sd=np.full(n, 0.25),
        stalled=rng.random(n) < 0.5,
        feasibility=Feasibility.draw(n, t_now, rng),
        levers=levers,
        depth=rng.uniform(-1.0, 0.0, n),
        residual=rng.normal(0.0, 0.3, n),
        level_now=rng.normal(2.0, 0.5, n),
        level_step_sd=0.6,
        trend=rng.normal(0.2, 0.2, n),
        rates=np.exp(rng.normal(1.0, 1.5, (2, n))),
        gaps=rng.uniform(0.2, 2.0, (2, n)),
    )


@pytest.mark.parametrize(
    "levers",
    [
        ComputeLevers(),
        ComputeLevers(tokens_per_parameter="trend", overtraining=3.0, overtraining_from=2030.0),
        ComputeLevers(tokens_per_parameter="held", feasibility="none"),
        ComputeLevers(tokens_per_parameter=1.0),
    ],
    ids=repr,
)
@pytest.mark.parametrize("track", [False, True])
def test_the_kernel_gives_the_reference_numbers_on_a_hand_made_lattice(levers, track):
    n = 37
    state = _state(levers, n)
    lattice = _lattice(state.t_now, 2110.0)
    assert len(lattice) > 3 * _BLOCK_STEPS
    # lattice points, points between them, several per step, out of order
    years = np.concatenate([lattice[1::3], lattice[5:40] + 0.01, [2100.0, 2030.0, 2099.9]])
    best = np.random.default_rng(9).normal(13.0, 0.2, n)

    def run(method):
        return method(state, years, 26.9, best, np.random.default_rng(17), track=track)

    kernel = run(_LatticeState.run)
    reference = run(_LatticeState._run_numpy)
    _assert_same(kernel, reference)
    assert len(kernel) == (4 if track else 2)


def test_the_kernel_keeps_a_record_no_release_can_beat():
    """A record far above the edge: no step sets a new one, the outputs stay at the start."""
    n = 11
    state = _state(ComputeLevers(feasibility="none"), n)
    years = np.array([2030.0, 2060.0, 2100.0])
    best = np.full(n, 14.0)
    kernel = state.run(years, 1000.0, best, np.random.default_rng(1))
    reference = state._run_numpy(years, 1000.0, best, np.random.default_rng(1))
    _assert_same(kernel, reference)
    np.testing.assert_array_equal(kernel[1], 1000.0)
    np.testing.assert_array_equal(kernel[0], 14.0)
    np.testing.assert_array_equal(best, 14.0)  # the caller's array is not changed


def test_the_kernel_consumes_the_random_numbers_as_the_reference_does():
    """After a projection the generator is in the same state (whole blocks drawn)."""
    state = _state(ComputeLevers(), 5)
    ours, theirs = np.random.default_rng(2), np.random.default_rng(2)
    years = np.array([2027.0, 2055.0])
    state.run(years, 26.9, np.full(5, 13.0), ours)
    state._run_numpy(years, 26.9, np.full(5, 13.0), theirs)
    assert ours.bit_generator.state == theirs.bit_generator.state
