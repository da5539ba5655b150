"""The stock models' levers as components.

Each lever value class (:class:`ConsentPath`, :class:`ContaminationPath`,
:class:`Isolation`, :class:`Synthetic`) holds what a user sets; each component in
:data:`STOCK_LEVERS` owns its keys (fields of the stock models and keys under a
scenario's ``[stock]``), their bounds (checked here and nowhere else, for the Python
constructors and for scenario files alike), its sampling (which rows of
``data/stock_estimates.csv`` it draws, each from its own named stream) and its effect on
the stock: a per-draw multiplier (:meth:`StockLever.scale`) or a per-draw, per-year factor
(:meth:`StockLever.factor`). :class:`forecast.stock._StockModel` loops over them.

Adding a lever is one :class:`StockLever` subclass in :data:`STOCK_LEVERS` (plus its
field on the stock model) and one test.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from forecast.checks import describe
from forecast.errors import LeverError
from forecast.limits import SYNTHETIC_MULTIPLIER_RANGE, VERIFIER_ACCURACY_RANGE
from forecast.stock.estimates import SpecLike, _as_spec, parameter_spec

__all__ = [
    "STOCK_LEVERS",
    "ConsentPath",
    "ContaminationPath",
    "Isolation",
    "StockLever",
    "Synthetic",
    "kept_valid_share",
    "muennighoff_multiplier",
]

_SHARE_CAP = 0.99  # restricted / AI-written shares are clipped to [0, 0.99]


@dataclass(frozen=True)
class ConsentPath:
    """Share of the web stock closed to AI crawlers, a logistic path in time.

    ``s(t) = P / (1 + (P / s0 - 1) exp(-k (t - anchor_year)))``, anchored on Longpre et al.
    2024 ("Consent in Crisis", arXiv:2407.14933): ``s0`` ~5% of all C4 tokens fully
    restricted by robots.txt at the April-2024 audit; the plateau ``P`` between the
    28%+ of the most critical sources and the 45% of C4 restricted by terms of service;
    the rate ``k`` such that the 2023-2024 rise (~1% -> 5%) is the early logistic phase.
    Each field: None = the table row (``consent_share_anchor`` lognormal 90% [0.04, 0.065],
    ``consent_share_plateau`` 90% [0.08, 0.45], ``consent_rate`` 90% [0.5, 2.0]/yr,
    ``consent_anchor_year`` 2024.3), a number (fixed) or ``(low, high[, interval])``
    (lognormal, 90% unless given). Per draw ``P`` is raised to at least ``s0`` and both
    are capped at 0.99. Applied as ``stock x (1 - web_share x s(t))`` to the whole stock at
    date t (re-crawled text follows today's robots.txt). Because ``s(anchor)`` is held at
    ``s0``, a higher plateau restricts more after the anchor and slightly less before it.
    """

    share_anchor: SpecLike = None
    plateau: SpecLike = None
    rate: SpecLike = None
    anchor_year: float | None = None

    def __post_init__(self) -> None:
        _as_spec(self.share_anchor, "consent share_anchor", lo=0.0, hi=_SHARE_CAP)
        _as_spec(self.plateau, "consent plateau", lo=0.0, hi=_SHARE_CAP)
        _as_spec(self.rate, "consent rate", positive=True)
        if self.anchor_year is not None:
            _as_spec(self.anchor_year, "consent anchor_year", lo=1990.0, hi=2100.0)

    @classmethod
    def constant(cls, share: float) -> ConsentPath:
        """A share closed at every date (s0 = P = share)."""
        _as_spec(share, "consent_restriction", lo=0.0, hi=_SHARE_CAP)
        return cls(share_anchor=float(share), plateau=float(share), rate=1.0)


@dataclass(frozen=True)
class ContaminationPath:
    """AI-written share of NEWLY ADDED text, ``a(t) = A (1 - exp(-(t - onset) / tau))``.

    ``a = 0`` before ``onset`` (ChatGPT, 2022-11-30). Anchored on Graphite (Oct 2025):
    ~39% of new English web articles 12 months after ChatGPT, ~50% from Nov 2024, flat since
    (follow-up with 3 detectors: 36% / 48% / ~50%). Defaults (table): plateau ``A`` normal
    90% [0.3, 0.7] (clipped to [0.01, 0.99]), time constant ``tau`` lognormal 90% [0.4, 1.0]
    years (median 0.63 gives 0.40 at 12 and 0.48 at 24 months with A = 0.5).

    The clean human stock integrates the human share of the increments exactly:
    ``H(t) = S(onset) + integral_onset^t (1 - a(u)) dS(u)``; with the per-draw exponential
    stock ``S(u) = S(onset) e^{r (u - onset)}`` this has a closed form, so the result does
    not depend on the year grid. A shrinking stock (r < 0) adds nothing (ratio 1).
    """

    plateau: SpecLike = None
    timescale: SpecLike = None
    onset: float | None = None

    def __post_init__(self) -> None:
        _as_spec(self.plateau, "contamination plateau", lo=0.0, hi=_SHARE_CAP)
        _as_spec(self.timescale, "contamination timescale", positive=True)
        if self.onset is not None:
            _as_spec(self.onset, "contamination onset", lo=1990.0, hi=2100.0)


@dataclass(frozen=True)
class Isolation:
    """Data isolation: only text collected before ``cutoff`` counts, plus a
    ``verified_fraction`` of the (human) text added since.

    usable(t) = H(cutoff) + v x max(H(t) - H(cutoff), 0) for t > cutoff, else H(t), where
    H is the human stock (the whole stock S when no :class:`ContaminationPath` is set: later
    text is then of unknown provenance and only the verified fraction v counts). Defaults
    (table): cutoff 2022-11-30 (2022.9123); v lognormal 90% [0.03, 0.3] (median 0.095),
    a documented prior built from proxies, not a measurement: curated sources with known
    authorship are ~8% of an open web-scale corpus (RedPajama-1T), provenance signatures
    cover almost no text, and detectors classify text but do not prove who wrote it
    (``data/stock_estimates.csv``, model ``isolation``). Text collected before the cutoff
    is kept even if the live web later shrinks.
    """

    cutoff: float | None = None
    verified_fraction: SpecLike = None

    def __post_init__(self) -> None:
        if self.cutoff is not None:
            _as_spec(self.cutoff, "isolation cutoff", lo=1990.0, hi=2100.0)
        _as_spec(self.verified_fraction, "isolation verified_fraction", lo=0.0, hi=1.0)


def kept_valid_share(accuracy, valid_share):
    """Share of valid tokens among those a verifier keeps (Feng et al. 2024's selection).

    The generator's output has a share ``valid_share`` (pi) of valid tokens; a verifier of
    accuracy ``a`` keeps a valid token with probability a and an invalid one with 1 - a,
    so the kept share is ``a pi / (a pi + (1 - a)(1 - pi))``: pi at a = 0.5 (no
    information), 1 at a = 1. Works on arrays.
    """
    a = np.asarray(accuracy, dtype=float)
    pi = np.asarray(valid_share, dtype=float)
    kept_valid = a * pi
    return kept_valid / (kept_valid + (1.0 - a) * (1.0 - pi))


@dataclass(frozen=True)
class Synthetic:
    """Synthetic data as an effective multiplier of the usable stock:
    ``min(1 + ratio x efficiency x kept_valid, cap)``.

    ``ratio``: synthetic tokens trained on (kept after filtering) per usable human token;
    ``efficiency``: value of one verified synthetic token relative to one human token;
    ``cap``: largest multiplier synthetic data can give. Defaults (table rows
    ``synthetic_*``, derived from the measurements in ``data/synthetic_data.csv``; see
    docs/model.md, "Synthetic data"): ratio lognormal 90% [0.4, 3], efficiency lognormal
    90% [0.25, 1] (clipped at 1), cap lognormal 90% [1.4, 3]; median multiplier ~1.5.

    ``verifier_accuracy`` (0.5..1, default None): the measured efficiencies come from
    pipelines that filter their synthetic data, so they are read as the value of a
    verified token. Given an accuracy ``a``, only the share
    :func:`kept_valid_share` ``(a, valid_share)`` of kept tokens is valid and the rest is
    worth nothing; ``valid_share`` (default: table row ``synthetic_valid_share``, 0.5, an
    assumption) is the share of valid tokens the generator produces. None = a perfect
    verifier (a = 1). Constant in time. ``Synthetic.fixed(2.0)`` is a fixed 2x multiplier.
    """

    ratio: SpecLike = None
    efficiency: SpecLike = None
    cap: SpecLike = None
    verifier_accuracy: float | None = None
    valid_share: SpecLike = None

    def __post_init__(self) -> None:
        _as_spec(self.ratio, "synthetic ratio", lo=0.0)
        _as_spec(self.efficiency, "synthetic efficiency", lo=0.0, hi=1.0)
        _as_spec(self.cap, "synthetic cap", lo=1.0)
        if self.verifier_accuracy is not None:
            lo, hi = VERIFIER_ACCURACY_RANGE
            _as_spec(self.verifier_accuracy, "synthetic verifier_accuracy", lo=lo, hi=hi)
        _as_spec(self.valid_share, "synthetic valid_share", lo=0.0, hi=1.0)

    @classmethod
    def fixed(cls, multiplier: float) -> Synthetic:
        """A fixed multiplier of the usable stock (``synthetic = 2.0`` in a scenario file)."""
        lo, hi = SYNTHETIC_MULTIPLIER_RANGE
        _as_spec(multiplier, "synthetic", lo=lo, hi=hi)
        m = float(multiplier)
        return cls(ratio=m - 1.0, efficiency=1.0, cap=m)


def _coerce_lever(value, cls, name: str, presets: tuple[str, ...], number: bool = False):
    """None/False -> None; True/preset string -> cls(); instance -> itself."""
    if value is None or value is False:
        return None
    if value is True or (isinstance(value, str) and value in presets):
        return cls()
    if isinstance(value, cls):
        return value
    also = " a number," if number else ""
    raise LeverError(
        f"{name} must be true, false,{also} or a table (a {cls.__name__}, or one of "
        f"{', '.join(map(repr, presets))}), got {describe(value)}"
    )


def muennighoff_multiplier(epochs, r_star: float = 15.387756):
    """Effective-data multiplier of ``epochs`` passes over unique data (Muennighoff et al.
    2023, arXiv:2305.16264): ``D'/U = 1 + R* (1 - exp(-R / R*))``, ``R = epochs - 1``.

    1 epoch -> 1; 4 epochs -> 3.73; 16 -> 10.6; limit ``1 + R*`` = 16.39.
    """
    e = np.asarray(epochs, dtype=float)
    if np.any(~np.isfinite(e)) or np.any(e < 1.0):
        raise LeverError(f"epochs must be finite and >= 1, got {epochs!r}")
    if not (np.isfinite(r_star) and r_star > 0):
        raise LeverError(f"r_star must be positive, got {r_star!r}")
    out = 1.0 + r_star * -np.expm1(-(e - 1.0) / r_star)
    return float(out) if out.ndim == 0 else out


# --- the components ------------------------------------------------------------------------


#: Draws per block in :meth:`StockLever.multiply_into`.
FACTOR_BLOCK_ROWS = 2048


class StockLever:
    """One lever of the stock models (see the module docstring).

    ``keys``: the stock-model fields (= ``[stock]`` keys) it owns. ``step``: the
    adjustment step (:data:`forecast.stock.COMPONENTS`) it produces, if any.
    """

    keys: tuple[str, ...] = ()
    step: str | None = None

    def coerce(self, values: dict[str, Any]) -> dict[str, Any]:
        """Validated, normalised values of :attr:`keys` (raises :class:`LeverError`)."""
        return values

    def from_toml(self, key: str, value):
        """A scenario file's value (lists, tables) as the stock model takes it."""
        return tuple(value) if isinstance(value, list) else value

    def sample(self, model, values, table, draw, spec, p: dict, n: int) -> None:
        """Add this lever's per-draw parameters to ``p`` (nothing when off)."""

    def scale(self, p) -> np.ndarray | None:
        """Per-draw multiplier of the stock, shape (n,), or None."""
        return None

    def factor(self, model, p, y) -> np.ndarray | None:
        """Per-draw, per-year factor of the stock, shape (n, m), or None."""
        return None

    def multiply_into(self, model, p, y, out: np.ndarray) -> None:
        """``out *= factor(model, p, y)`` (nothing when off), a block of draws at a time:
        the same numbers, with temporaries of a block's size instead of out's (a 10,000 x
        900 chunk is 73 MB per temporary, and a factor can need three)."""
        n = out.shape[0]
        for start in range(0, n, FACTOR_BLOCK_ROWS):
            rows = slice(start, start + FACTOR_BLOCK_ROWS)
            block = {k: v[rows] if np.ndim(v) and len(v) == n else v for k, v in p.items()}
            factor = self.factor(model, block, y)
            if factor is None:
                return
            out[rows] *= factor


class QualityLever(StockLever):
    """``quality_fraction``: the usable share of the text, in (0, 1]."""

    keys = ("quality_fraction",)
    step = "quality_filtered"

    def coerce(self, values):
        _as_spec(values["quality_fraction"], "quality_fraction", lo=1e-9, hi=1.0)
        return values

    def sample(self, model, values, table, draw, spec, p, n):
        q = _as_spec(values["quality_fraction"], "quality_fraction")
        q = q or model._default_quality(table)
        p["quality"] = np.minimum(draw(q), 1.0) if q is not None else np.ones(n)

    def scale(self, p):
        return p["quality"]


class GrowthLever(StockLever):
    """``stock_growth``: the stock's yearly growth factor, in [0.5, 3] (replaces the
    model's own growth draw when set)."""

    keys = ("stock_growth",)

    def coerce(self, values):
        _as_spec(values["stock_growth"], "stock_growth", lo=0.5, hi=3.0)
        return values

    def sample(self, model, values, table, draw, spec, p, n):
        if values["stock_growth"] is not None:
            p["log_growth"] = np.log(draw(_as_spec(values["stock_growth"], "stock_growth")))


REPETITION_CHOICES = ("flat", "muennighoff", "none")


class RepetitionLever(StockLever):
    """``repetition`` ("flat": a drawn multiplier; "muennighoff": ``epochs`` passes, in
    [1, 1000], by the data-constrained scaling law; "none") and ``epochs``."""

    keys = ("repetition", "epochs")
    step = "repetition_adjusted"

    def coerce(self, values):
        repetition, epochs = values["repetition"], values["epochs"]
        if repetition is not None and repetition not in REPETITION_CHOICES:
            raise LeverError(
                f"repetition = {repetition!r} is not one of {', '.join(REPETITION_CHOICES)}"
            )
        if epochs is not None:
            if repetition != "muennighoff":
                raise LeverError("epochs is only used with repetition = 'muennighoff'")
            _as_spec(epochs, "epochs", lo=1.0, hi=1000.0)
        return values

    def sample(self, model, values, table, draw, spec, p, n):
        repetition = values["repetition"]
        if repetition == "flat":
            rep = model._default_repetition(table) or parameter_spec(table, "repetition_multiplier")
            p["repetition"] = draw(rep)
        elif repetition == "muennighoff":
            epochs = np.maximum(draw(spec(values["epochs"], "muennighoff_epochs")), 1.0)
            r_star = parameter_spec(table, "muennighoff_rd_star").central
            p["repetition"] = muennighoff_multiplier(epochs, r_star)
        else:
            p["repetition"] = np.ones(n)

    def scale(self, p):
        return p["repetition"]


class _PathLever(StockLever):
    """A lever set by a value class: None/False (off), True or a preset name (the table's
    defaults), an instance, or a table of its fields in a scenario file."""

    cls: type = object
    presets: tuple[str, ...] = ("default",)

    @property
    def key(self) -> str:
        return self.keys[0]

    #: How a number is read (a constant share, a fixed multiplier); None: not a value.
    number: Any = None

    def coerce(self, values):
        value = values[self.key]
        if self.number is not None and isinstance(value, int | float):
            if not isinstance(value, bool):
                value = self.number(value)
        numeric = self.number is not None
        return {self.key: _coerce_lever(value, self.cls, self.key, self.presets, numeric)}

    def from_toml(self, key, value):
        if isinstance(value, dict):
            allowed = {f.name for f in fields(self.cls)}
            bad = set(value) - allowed
            if bad:
                raise LeverError(
                    f"unknown key(s) {sorted(bad)} in stock.{key}; allowed: {sorted(allowed)}"
                )
            return self.cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in value.items()})
        return value


class ConsentLever(_PathLever):
    """``consent_restriction``: the share of the web closed to AI crawlers
    (:class:`ConsentPath`; a number is a constant share)."""

    keys = ("consent_restriction",)
    step = "consent_restricted"
    cls = ConsentPath
    presets = ("longpre2024", "default")
    number = ConsentPath.constant

    def sample(self, model, values, table, draw, spec, p, n):
        c = values[self.key]
        if c is None:
            return
        s0 = np.clip(draw(spec(c.share_anchor, "consent_share_anchor")), 0.0, _SHARE_CAP)
        plateau = np.clip(draw(spec(c.plateau, "consent_share_plateau")), 0.0, _SHARE_CAP)
        p["consent_anchor"] = s0
        p["consent_plateau"] = np.maximum(plateau, s0)
        p["consent_rate"] = draw(spec(c.rate, "consent_rate"))
        p["consent_anchor_year"] = draw(spec(c.anchor_year, "consent_anchor_year"))

    def factor(self, model, p, y):
        """``1 - web_share x s(t)``, shape (n, m)."""
        if "consent_plateau" not in p:
            return None
        s0, plat = p["consent_anchor"], p["consent_plateau"]
        ok = s0 > 0  # s0 = 0 means nothing is ever closed
        with np.errstate(divide="ignore", invalid="ignore"):
            odds = np.where(ok, plat / np.where(ok, s0, 1.0) - 1.0, 0.0)
        top = np.where(ok, plat, 0.0) * model._web_share(p)
        # s(t) = P / (1 + odds exp(-k (t - t0))), computed in place on one (n, m) block
        z = np.subtract(y, p["consent_anchor_year"][:, None])
        z *= -p["consent_rate"][:, None]
        np.exp(z, out=z)
        z *= odds[:, None]
        z += 1.0
        np.divide(top[:, None], z, out=z)
        np.subtract(1.0, z, out=z)
        return z


def human_ratio(p, t) -> np.ndarray:
    """H(t) / S(t): clean human share of the stock at dates ``t`` (broadcast (n, m)).

    ``H/S = 1 - A (1 - e^{-rx}) + A r x e^{-rx} exprel((r - 1/tau) x)``, x = t - onset
    (>= 0), r = max(ln g, 0); exprel(z) = (e^z - 1)/z is stable at z -> 0. Ones when AI
    contamination is off.
    """
    if "ai_plateau" not in p:
        return np.ones(np.broadcast_shapes(p["raw_base"][:, None].shape, np.shape(t)))
    a = p["ai_plateau"][:, None]
    r = np.maximum(p["log_growth"], 0.0)[:, None]
    beta = r - 1.0 / p["ai_timescale"][:, None]
    x = np.subtract(t, p["ai_onset"][:, None])
    x = np.broadcast_to(x, np.broadcast_shapes(x.shape, a.shape)).copy()
    np.maximum(x, 0.0, out=x)
    decay = np.multiply(x, -r)
    np.exp(decay, out=decay)
    # x exprel(beta x) = expm1(beta x) / beta (= x where beta = 0): numpy's expm1 is
    # about 13x faster than scipy's exprel on a (100k, 912) block and as accurate.
    flat = beta[:, 0] == 0.0
    x_flat = x[flat] if flat.any() else None
    term = np.multiply(x, beta, out=x)  # x's block is reused: one (n, m) array less
    np.expm1(term, out=term)
    term /= np.where(flat, 1.0, beta[:, 0])[:, None]
    if x_flat is not None:
        term[flat] = x_flat
    term *= decay
    term *= a * r
    decay *= a
    decay += 1.0 - a
    decay += term
    return decay


class ContaminationLever(_PathLever):
    """``contamination``: only the human-written share of text added since ChatGPT
    counts (:class:`ContaminationPath`)."""

    keys = ("contamination",)
    step = "contamination_adjusted"
    cls = ContaminationPath
    presets = ("graphite2025", "default")

    def sample(self, model, values, table, draw, spec, p, n):
        m = values[self.key]
        if m is None:
            return
        a = draw(spec(m.plateau, "contamination_plateau"))
        p["ai_plateau"] = np.clip(a, 0.01, _SHARE_CAP)
        p["ai_timescale"] = draw(spec(m.timescale, "contamination_timescale"))
        p["ai_onset"] = draw(spec(m.onset, "contamination_onset"))

    def factor(self, model, p, y):
        # With isolation on, the isolation lever applies the combined ratio.
        if "ai_plateau" not in p or "isolation_cutoff" in p:
            return None
        return human_ratio(p, y)


class IsolationLever(_PathLever):
    """``isolation``: only text collected before a cutoff counts, plus a verified
    fraction of later human text (:class:`Isolation`)."""

    keys = ("isolation",)
    step = "contamination_adjusted"
    cls = Isolation

    def sample(self, model, values, table, draw, spec, p, n):
        iso = values[self.key]
        if iso is None:
            return
        p["isolation_cutoff"] = draw(spec(iso.cutoff, "isolation_cutoff"))
        v = draw(spec(iso.verified_fraction, "isolation_verified_fraction"))
        p["isolation_verified"] = np.clip(v, 0.0, 1.0)

    def factor(self, model, p, y):
        """Contamination and isolation as a ratio to the stock S(t)."""
        if "isolation_cutoff" not in p:
            return None
        c, v = p["isolation_cutoff"][:, None], p["isolation_verified"][:, None]
        h_t = human_ratio(p, y)
        # human stock at the cutoff relative to S(t): h(c) S(c)/S(t)
        h_c = human_ratio(p, c) * np.exp(-p["log_growth"][:, None] * (y - c))
        # after the cutoff h_c + v max(h_t - h_c, 0), before it h_t; in place, the same
        # numbers as the expression with one (n, m) array per operation
        ratio = np.subtract(h_t, h_c)
        np.maximum(ratio, 0.0, out=ratio)
        ratio *= v
        ratio += h_c
        del h_c
        np.copyto(ratio, h_t, where=~np.broadcast_to(y > c, ratio.shape))
        return ratio


class SyntheticLever(_PathLever):
    """``synthetic``: synthetic data as a multiplier of the usable stock
    (:class:`Synthetic`; a number is a fixed multiplier)."""

    keys = ("synthetic",)
    step = "synthetic_augmented"
    cls = Synthetic
    number = Synthetic.fixed

    def sample(self, model, values, table, draw, spec, p, n):
        syn = values[self.key]
        if syn is None:
            return
        ratio = draw(spec(syn.ratio, "synthetic_ratio"))
        eff = np.clip(draw(spec(syn.efficiency, "synthetic_efficiency")), 0.0, 1.0)
        cap = draw(spec(syn.cap, "synthetic_cap"))
        # The inputs are kept too: the report's explorer recombines them in the browser.
        p["synthetic_ratio"], p["synthetic_efficiency"], p["synthetic_cap"] = ratio, eff, cap
        if syn.verifier_accuracy is not None:
            valid = np.clip(draw(spec(syn.valid_share, "synthetic_valid_share")), 0.0, 1.0)
            p["synthetic_valid_share"] = valid
            eff = eff * kept_valid_share(float(syn.verifier_accuracy), valid)
        p["synthetic_multiplier"] = np.minimum(1.0 + ratio * eff, np.maximum(cap, 1.0))

    def scale(self, p):
        return p.get("synthetic_multiplier")


#: Every lever, in the order the stock model samples them and multiplies their scales
#: (quality, repetition, synthetic) and factors (consent, then contamination/isolation).
STOCK_LEVERS: tuple[StockLever, ...] = (
    GrowthLever(),
    QualityLever(),
    RepetitionLever(),
    ConsentLever(),
    ContaminationLever(),
    IsolationLever(),
    SyntheticLever(),
)
#: The keys of every lever (stock-model fields and ``[stock]`` keys).
LEVER_KEYS: tuple[str, ...] = tuple(k for lever in STOCK_LEVERS for k in lever.keys)
