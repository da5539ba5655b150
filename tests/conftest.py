"""Shared pytest fixtures: paths to the test fixtures and the optional reference data."""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import socket
import tempfile

import pytest

from forecast import _compat

# The two workers import ArviZ at the same moment: its daily stamp must not race
# (forecast._compat.settle_arviz_stamp).
_compat.settle_arviz_stamp()

TESTS_DIR = pathlib.Path(__file__).resolve().parent
REPO_DIR = TESTS_DIR.parent


def pytest_configure(config) -> None:
    """Keep the tests' fit cache out of the user's ~/.cache: a fresh temporary directory."""
    os.environ["FORECAST_CACHE_DIR"] = tempfile.mkdtemp(prefix="forecast-test-cache-")


def pytest_unconfigure(config) -> None:
    shutil.rmtree(os.environ.get("FORECAST_CACHE_DIR", ""), ignore_errors=True)


@pytest.fixture(scope="session")
def fixtures_dir() -> pathlib.Path:
    """Directory of the small hand-written CSV fixtures."""
    return TESTS_DIR / "fixtures"


@pytest.fixture(scope="session")
def reference_dir() -> pathlib.Path:
    """Directory of the shared reference data (``$FORECAST_REFERENCE_DIR`` or
    ``<repo>/../shared/reference``); tests needing it skip when it is absent."""
    env = os.environ.get("FORECAST_REFERENCE_DIR")
    path = pathlib.Path(env) if env else REPO_DIR.parent / "shared" / "reference"
    if not path.is_dir():
        pytest.skip(f"reference data directory not found: {path}")
    return path


# --- demand, scenarios and pipeline (tests/demand/test_demand.py, test_pipeline.py, ...) -----------


def synthetic_training_runs(
    n: int = 80,
    start: float = 2008.0,
    end: float = 2024.5,
    slope: float = 0.45,
    level: float = 9.0,
    noise: float = 0.3,
    nu: float = 4.0,
    seed: int = 0,
    slope_after: float | None = None,
    change_at: float | None = None,
    transition: float = 0.0,
    flop_slope: float = 0.7,
    flop_level: float = 21.0,
    normal: bool = False,
):
    """A models table (project columns used by the demand models) with known growth.

    ``log10 tokens = level + slope (year - 2018) [+ (slope_after - slope) h(year - change_at)]
    + noise * t(nu)`` (standard normal noise with ``normal=True``), release dates uniform
    in ``[start, end]``; ``h`` is the hinge ``max(d, 0)``, or with ``transition = w > 0``
    years the smooth hinge ``w softplus(d / w)`` of :class:`forecast.demand.SlowdownTrend`.
    ``log10 compute_flop`` likewise with ``flop_level``/``flop_slope``.
    """
    import numpy as np
    import pandas as pd

    from forecast.units import decimal_years, from_decimal_year

    rng = np.random.default_rng(seed)
    raw_years = np.sort(rng.uniform(start, end, n))
    dates = pd.to_datetime([from_decimal_year(y) for y in raw_years])
    years = np.asarray(decimal_years(dates), dtype=float)
    mean = level + slope * (years - 2018.0)
    if slope_after is not None:
        d = years - change_at
        hinge = (
            transition * np.logaddexp(0.0, d / transition) if transition > 0 else np.maximum(d, 0)
        )
        mean = mean + (slope_after - slope) * hinge

    def eps():
        return rng.standard_normal(n) if normal else rng.standard_t(nu, n)

    log_tokens = mean + noise * eps()
    log_flop = flop_level + flop_slope * (years - 2018.0) + noise * eps()
    return pd.DataFrame(
        {
            "model": [f"synthetic-{i:03d}" for i in range(n)],
            "organization": "synthetic",
            "date": dates.astype("datetime64[ns]"),
            "year": years,
            "tokens": 10.0**log_tokens,
            "compute_flop": 10.0**log_flop,
        }
    )


@pytest.fixture(scope="session")
def make_training_runs():
    """Factory of synthetic models tables with known growth (see ``synthetic_training_runs``)."""
    return synthetic_training_runs


@pytest.fixture(scope="session")
def small_sampler():
    """A fast NUTS configuration for the default suite (health warnings are expected)."""
    from forecast.demand.model import SamplerConfig

    return SamplerConfig(draws=300, tune=300, chains=2, seed=11)


RECORDED_DEMAND = TESTS_DIR / "fixtures" / "recorded_demand"
RERECORD = "run `python tests/fixtures/record_demand.py` to record it again"


@contextlib.contextmanager
def dask_client(workers: int = 1, processes: bool = False):
    """A Dask client on a fresh LocalCluster (one thread per worker, no dashboard on a
    public port), closed on exit: in-process by default, the fastest for small studies."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def recorded_demand(path: pathlib.Path = RECORDED_DEMAND):
    """Every default demand model on the bundled table, from the recorded posteriors of
    the small sampler (tests/fixtures/record_demand.py): the default suite does not
    sample. Fails when the recording no longer matches the bundled table or the models.
    ``path``: another recording (its table is not checked)."""
    from forecast.data import load_training_runs, models_frame_hash
    from forecast.pipeline import load_demand
    from forecast.registry import fitted_classes

    demand = load_demand(path)
    if path == RECORDED_DEMAND and models_frame_hash(demand.models) != models_frame_hash(
        load_training_runs()
    ):
        pytest.fail(f"{RECORDED_DEMAND} was fitted to another models table; {RERECORD}")
    current = {cls.name: cls().config() for cls in fitted_classes()}
    recorded = {name: fit.model.config() for name, fit in demand.fits.items()}
    if recorded != current:
        pytest.fail(f"{path} holds other demand models or settings; {RERECORD}")
    for fit in demand.fits.values():
        fit.add_log_likelihood()  # not stored: recomputed from the posterior
    return demand


def file_in_cache(demand, cache: pathlib.Path, sampler):
    """File ``demand``'s fits in the fit cache ``cache`` as ``fit_cached`` files them
    under ``sampler`` (keyed by its own models table), with their LOO comparison beside
    them as ``fit_demand`` caches it; returns the comparison."""
    from forecast import demand as dm

    for fit in demand.fits.values():
        key = dm.fit_key(fit.model, demand.models, sampler)
        fit.idata.attrs["forecast_key"] = key
        fit.save(dm.cache_path(fit.model, key, cache))
    return dm.compare_cached([demand.fits[name] for name in dm.LOO_MODELS], cache)


@pytest.fixture(scope="session")
def filed_in_cache():
    """:func:`file_in_cache`, for tests that start from a warm fit cache."""
    return file_in_cache


@pytest.fixture(scope="session")
def load_recorded_demand():
    """:func:`recorded_demand`, for tests that need a fresh copy of the recorded set."""
    return recorded_demand


@pytest.fixture(scope="session")
def bundled_demand(small_sampler):
    """Every default demand model fitted to the bundled table with the small sampler
    (recorded posteriors, see :func:`recorded_demand`)."""
    demand = recorded_demand()
    for fit in demand.fits.values():  # as sampled: small_sampler, or its automatic retry
        assert fit.sampler.seed == small_sampler.seed
        asked = small_sampler.draws * fit.model.draws_factor
        assert asked in (fit.sampler.draws, fit.sampler.escalated_from)
    return demand


# --- figures and report (tests/plots/test_plots.py, tests/report/test_report.py) -------------------------


@pytest.fixture(scope="session")
def scenario_results(bundled_demand):
    """Small runs (2,000 joint draws) of the baseline and two compared scenarios."""
    from forecast.pipeline import run_scenario

    return [
        run_scenario(name, bundled_demand, draws=2000, seed=3)
        for name in ("baseline", "epoch2024", "epoch2022-high-quality")
    ]


@pytest.fixture
def no_network(monkeypatch):
    """Every socket connection or DNS lookup fails (and is recorded)."""
    attempts: list = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access is disabled in the tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts
