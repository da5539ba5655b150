"""The fit cache: fits (and values computed from them) kept on disk, keyed by
everything they depend on (model settings, sampler, data and package version), so a later
run reuses them; a stale or damaged entry is recomputed, never silently reused.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import warnings
from collections.abc import Mapping
from dataclasses import asdict, replace
from pathlib import Path

import pandas as pd

from forecast._version import __version__
from forecast.demand.model import DemandFit, DemandModel, SamplerConfig, load_fit
from forecast.errors import ForecastError


def default_cache_dir() -> Path:
    """``$FORECAST_CACHE_DIR``, else ``$XDG_CACHE_HOME/forecast``, else ``~/.cache/forecast``."""
    if os.environ.get("FORECAST_CACHE_DIR"):
        return Path(os.environ["FORECAST_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "forecast"


def _cache_directory(cache_dir: str | Path | None) -> Path:
    return Path(cache_dir) if cache_dir is not None else default_cache_dir()


def sampler_key(sampler: SamplerConfig) -> dict:
    """The settings of ``sampler`` that the draws depend on, for cache keys: every field
    but ``progress`` (a progress bar changes no draw)."""
    return {**asdict(sampler), "progress": None}


def model_code_hash(model: DemandModel) -> str:
    """Hash of the source files that define ``model``'s graph and projection (its class's
    module and :mod:`forecast.demand.model`): a fit made by other code is never reused,
    even within one package version (an edited checkout, a development build)."""
    import inspect
    import sys

    files = {inspect.getfile(type(model)), inspect.getfile(sys.modules[DemandModel.__module__])}
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(Path(name).read_bytes())
    return digest.hexdigest()[:16]


def package_code_hash() -> str:
    """Hash of every Python source file of the package: a cached value (a study, a
    comparison) made by other code is never reused, even within one package version."""
    global _PACKAGE_HASH
    if _PACKAGE_HASH is None:
        root = Path(__file__).resolve().parent.parent
        digest = hashlib.sha256()
        for path in sorted(root.rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
        _PACKAGE_HASH = digest.hexdigest()[:16]
    return _PACKAGE_HASH


_PACKAGE_HASH: str | None = None


def fit_key(model: DemandModel, models: pd.DataFrame, sampler: SamplerConfig) -> str:
    """Hash of everything a fit depends on: model settings, sampler, data, package version
    and the model's code (:func:`model_code_hash`)."""
    from forecast.data import models_frame_hash

    payload = json.dumps(
        {
            "model": model.config(),
            # Sampling settings of the model class: changing one must refit.
            "model_sampling": [model.draws_factor, model.min_target_accept, model.dense_mass],
            "sampler": sampler_key(sampler),
            "data": models_frame_hash(models),
            "version": __version__,
            "code": model_code_hash(model),
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def cache_path(model: DemandModel, key: str, cache_dir: str | Path | None = None) -> Path:
    """Where :func:`fit_cached` keeps the fit with :func:`fit_key` ``key``."""
    return _cache_directory(cache_dir) / f"{model.name}-{key[:20]}.npz"


def fit_cached(
    model: DemandModel,
    models: pd.DataFrame,
    sampler: SamplerConfig | None = None,
    cache_dir: str | Path | None = None,
    *,
    use_cache: bool = True,
) -> DemandFit:
    """Fit, or reuse a saved fit made with the same model, sampler, data and version.

    A cached file whose stored key does not match (edited data, other settings, other
    package version) is detected and refitted, never silently reused.
    ``use_cache=False`` always samples and saves nothing.
    """
    sampler = sampler or SamplerConfig()
    if not use_cache:
        return model.fit(models, sampler)
    key = fit_key(model, models, sampler)
    path = cache_path(model, key, cache_dir)
    if path.exists():
        try:
            fit = load_fit(path)
        except Exception as exc:  # a corrupt cache entry is refitted, not fatal
            warnings.warn(f"ignoring unreadable cached fit {path}: {exc}", stacklevel=2)
        else:
            if fit._stored.attrs.get("forecast_key") == key:
                fit.sampler = replace(fit.sampler, progress=sampler.progress)
                fit.warn_if_unhealthy()  # a reused fit warns as it did when it was made
                return fit
            warnings.warn(
                f"cached fit {path} does not match the data or settings; refitting", stacklevel=2
            )
    fit = model.fit(models, sampler)
    fit.idata.attrs["forecast_key"] = key
    # our own temporary file, so overwrite=True
    _save_to_cache(path, lambda tmp: fit.save(tmp, overwrite=True), "the fit")
    return fit


def _save_to_cache(path: Path, write, what: str) -> None:
    """``write(tmp)`` then rename to ``path``: a reader never sees half a file."""
    tmp = path.with_name(f"{path.stem}.tmp{os.getpid()}{path.suffix}")  # the same format
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        # A cache that cannot be written costs time later, never the result now.
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        warnings.warn(
            f"cannot save {what} to the cache directory {path.parent} "
            f"({exc.strerror or exc}); continuing without caching it (set "
            "FORECAST_CACHE_DIR or --cache-dir to a writable directory)",
            stacklevel=3,
        )


def value_cached(
    name: str,
    inputs: Mapping,
    compute,
    cache_dir: str | Path | None = None,
    *,
    use_cache: bool = True,
    what: str | None = None,
):
    """``compute()``, saved beside the cached fits and read back while ``inputs`` and the
    package version are the same.

    ``name``: the file's prefix (``what``: the value's name in warnings, default ``name``);
    ``inputs``: JSON data naming everything the value depends on besides the package's
    own code (data hashes, seeds, settings). The value is stored as exact JSON
    (:func:`forecast.results.encode`: results objects, tables, arrays), so a value read
    back equals the computed one to the last bit. A damaged file warns and is recomputed;
    ``use_cache=False`` always computes and saves nothing.
    """
    if not use_cache:
        return compute()
    from forecast.results import decode, encode

    what = what or name
    payload = json.dumps(
        {"name": name, "inputs": inputs, "version": __version__, "code": package_code_hash()},
        sort_keys=True,
    )
    key = hashlib.sha256(payload.encode()).hexdigest()
    path = _cache_directory(cache_dir) / f"{name}-{key[:20]}.json"
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        if stored["key"] == key:
            return decode(stored["value"])
    except FileNotFoundError:
        pass
    except (
        OSError,
        ValueError,
        LookupError,
        TypeError,
        AttributeError,
        ImportError,
        ForecastError,
    ) as exc:  # a damaged file (ForecastError: decode refused it)
        warnings.warn(f"ignoring unreadable cached {what} {path}: {exc}", stacklevel=2)
    value = compute()
    text = json.dumps({"key": key, "value": encode(value)})  # floats as repr: exact
    _save_to_cache(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), f"the {what}")
    return value
