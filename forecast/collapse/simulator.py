"""Model-collapse simulator: what happens when models are trained on model output.

Two toy models, each run in three data regimes:

* **Gaussian recursion** (Shumailov et al. 2024, *Nature* 631:755): generation 0 is the
  true distribution N(0, 1). Generation ``n >= 1`` is the Gaussian fitted (sample mean,
  unbiased variance) to ``samples`` (M) draws from its training data. Many independent
  chains are simulated at once.
* **Categorical vocabulary**: a Zipf-like distribution over ``vocab_size`` tokens. Each
  generation draws ``vocab_samples`` tokens and re-estimates the frequencies by maximum
  likelihood (counts / total); a token with zero count has probability zero from then on.

Regimes (what generation ``n`` is fitted on):

``replace``
    M samples from generation ``n - 1`` only (generation 1: M real samples).
``accumulate``
    Gerstgrasser et al. 2024 (arXiv:2404.01413): the original M real samples plus every
    synthetic sample produced so far (M per earlier generation), ``n * M`` samples in all.
``mix``
    M samples per generation of which ``round(fresh_fraction * M)`` are fresh draws from
    the original distribution and the rest come from generation ``n - 1``: the "keep 10%
    of the original data" remedy. ``fresh_fraction=0`` is ``replace``.
``verify``
    Feng et al. 2024 ("Beyond model collapse: scaling up with synthesized data requires
    verification", arXiv:2406.07515): generation ``n - 1`` synthesises samples and a
    verifier keeps or drops each one; generation ``n`` is fitted on the first M kept.
    A sample's true verdict is "keep" with probability ``min(1, p0(x) / p(x))`` (p0 the
    original distribution, p the generator): kept by a perfect verifier, samples are
    distributed as ``min(p0, p)``, which trims what the generator over-produces. A
    verifier of accuracy ``a`` reports the true verdict with probability ``a`` and the
    opposite otherwise, so ``a = 0.5`` keeps a random half (``replace`` with more
    synthesis) and ``a = 1`` is the perfect verifier. A verifier can drop samples but not
    create them: what the generator has lost (tails, extinct tokens) stays lost.

Analytic results for ``replace`` (derived here and checked by Monte Carlo; docs/model.md, section 10):
``sigma2_n = sigma2_0 * prod_{i<=n} chi2_{M-1} / (M - 1)``, so ``E[sigma2_n] = sigma2_0``
(a martingale) while the typical (median) value is
``sigma2_0 * exp(n * E ln(chi2_{M-1} / (M - 1))) ~= exp(-n / (M - 1))``: it goes to 0 almost
surely. :func:`analytic_mean_variance_ratio` and :func:`analytic_median_variance_ratio`
return both curves.

Everything is vectorised numpy driven by ``numpy.random.default_rng(seed)``. The Gaussian
chains draw each generation's sufficient statistics (sample mean ~ normal, sum of squares ~
chi-square) instead of the M samples themselves: identical in distribution, far faster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import digamma, ndtr

from forecast.limits import VERIFIER_ACCURACY_RANGE
from forecast.results import Result

__all__ = [
    "REGIMES",
    "CollapseResult",
    "analytic_mean_variance_ratio",
    "analytic_median_variance_ratio",
    "expected_log_variance_factor",
    "original_tail_mass",
    "simulate",
    "verification_sweep",
    "zipf_probabilities",
]

REGIMES: tuple[str, ...] = ("replace", "accumulate", "mix", "verify")

#: Candidate batches drawn per generation in ``verify`` before a chain is fitted on fewer
#: than M kept samples (the shortfall is counted in ``CollapseResult.settings``).
VERIFY_MAX_ROUNDS = 50

#: Tail threshold, in standard deviations of the ORIGINAL distribution.
TAIL_SIGMAS = 3.0


def original_tail_mass(k: float = TAIL_SIGMAS) -> float:
    """Probability mass of N(0, 1) beyond +-k: ``2 * Phi(-k)`` (0.0027 for k = 3)."""
    return float(2.0 * ndtr(-k))


def expected_log_variance_factor(samples: int) -> float:
    """Exact ``E ln(chi2_k / k)`` with ``k = samples - 1``: ``psi(k/2) + ln(2/k)``.

    This is the mean per-generation drift of ``ln sigma2`` in the ``replace`` regime;
    it is ``-1/k - 1/(3 k^2) + O(k^-4)``, i.e. close to ``-1/(M - 1)``.
    """
    _check_samples(samples)
    k = samples - 1
    return float(digamma(k / 2.0) + np.log(2.0 / k))


def analytic_median_variance_ratio(generations, samples: int, *, exact: bool = True) -> np.ndarray:
    """Typical (median) ``sigma2_n / sigma2_0`` in the ``replace`` regime.

    ``exp(n * E ln(chi2_{M-1}/(M-1)))`` when ``exact`` (the default), otherwise the
    first-order approximation ``exp(-n / (M - 1))``. ``generations`` is a scalar or an
    array of generation numbers ``n`` (generation 0 is the original distribution).
    """
    n = np.asarray(generations, dtype=float)
    _check_samples(samples)
    drift = expected_log_variance_factor(samples) if exact else -1.0 / (samples - 1)
    return np.exp(n * drift)


def analytic_mean_variance_ratio(generations, samples: int | None = None) -> np.ndarray:
    """``E[sigma2_n] / sigma2_0`` in the ``replace`` regime: exactly 1 (a martingale).

    ``samples`` is accepted for symmetry with :func:`analytic_median_variance_ratio`
    and does not change the result (the unbiased variance estimator keeps the mean).
    """
    n = np.asarray(generations, dtype=float)
    return np.ones_like(n)


def zipf_probabilities(vocab_size: int = 1000, exponent: float = 1.1) -> np.ndarray:
    """Zipf-like token probabilities ``p_k ~ k^-exponent``, ``k = 1..vocab_size``."""
    if vocab_size < 2:
        raise ValueError(f"vocab_size must be at least 2, got {vocab_size}.")
    if not exponent > 0:
        raise ValueError(f"zipf_exponent must be positive, got {exponent}.")
    p = np.arange(1, vocab_size + 1, dtype=float) ** (-float(exponent))
    return p / p.sum()


def check_count(value, name: str, minimum: int) -> int:
    """``value`` as an int if it is a whole number of at least ``minimum`` (not a bool),
    else ValueError naming ``name`` (the simulators' sizes and generation counts)."""
    if isinstance(value, bool) or int(value) != value or value < minimum:
        raise ValueError(f"{name} must be an integer of at least {minimum}, got {value!r}.")
    return int(value)


def _check_samples(samples: int) -> None:
    check_count(samples, "samples", 2)


# --------------------------------------------------------------------------------------
# Gaussian recursion
# --------------------------------------------------------------------------------------


def _gaussian_stats(mu: np.ndarray, var: np.ndarray) -> dict[str, np.ndarray]:
    """Per-chain metrics of fitted models N(mu, var) against the original N(0, 1)."""
    sd = np.sqrt(var)
    with np.errstate(divide="ignore", invalid="ignore"):
        tail = ndtr((-TAIL_SIGMAS - mu) / sd) + ndtr((mu - TAIL_SIGMAS) / sd)
    tail = np.where(sd > 0, tail, (np.abs(mu) > TAIL_SIGMAS).astype(float))
    # W2^2 between N(mu, var) and N(0, 1).
    w2 = mu**2 + (sd - 1.0) ** 2
    return {"var": var, "tail": tail / original_tail_mass(), "w2": w2}


def _draw_group(rng, mu: np.ndarray, var: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Sufficient statistics of ``size`` iid draws from N(mu, var), one group per chain.

    Returns (sample mean, sum of squared deviations about it). Exact in distribution:
    the mean is N(mu, var/size) and, independently, the sum of squares is
    var * chi2_{size-1}; drawing these instead of the ``size`` samples themselves makes
    the simulator ~100x faster without changing any result's distribution.
    """
    n = mu.shape[0]
    mean = mu + np.sqrt(var / size) * rng.standard_normal(n)
    ssd = var * rng.gamma((size - 1) / 2.0, 2.0, size=n)  # chi2_{size-1}
    return mean, ssd


def _pool(n_a: int, mean_a, ssd_a, n_b: int, mean_b, ssd_b):
    """Combine two groups' (count, mean, sum of squared deviations) (Chan et al.)."""
    n = n_a + n_b
    delta = mean_b - mean_a
    mean = mean_a + delta * (n_b / n)
    ssd = ssd_a + ssd_b + delta**2 * (n_a * n_b / n)
    return n, mean, ssd


def _keep_probability(true_keep: np.ndarray, accuracy: float) -> np.ndarray:
    """P(verifier keeps) given P(true verdict is keep): ``a r + (1 - a)(1 - r)``."""
    return accuracy * true_keep + (1.0 - accuracy) * (1.0 - true_keep)


def _verified_group(rng, mu: np.ndarray, var: np.ndarray, size: int, accuracy: float):
    """(count, mean, sum of squared deviations) of the first ``size`` verified samples.

    Candidates come from N(mu, var) in batches of ``2 * size`` per chain until every chain
    has ``size`` kept or :data:`VERIFY_MAX_ROUNDS` batches were drawn. Returns the counts
    too (a chain short of ``size`` is fitted on what it kept, at least 2).
    """
    n = mu.shape[0]
    sd = np.sqrt(var)
    kept = np.zeros((n, size))
    filled = np.zeros(n, dtype=np.int64)
    batch = 2 * size
    for _ in range(VERIFY_MAX_ROUNDS):
        rows = np.flatnonzero(filled < size)
        if rows.size == 0:
            break
        z = rng.standard_normal((rows.size, batch))
        x = mu[rows, None] + sd[rows, None] * z
        # log p0(x) - log p(x) for p0 = N(0, 1), p = N(mu, sd^2)
        log_ratio = -0.5 * x**2 + 0.5 * z**2 + np.log(sd[rows, None])
        true_keep = np.exp(np.minimum(log_ratio, 0.0))
        keep = rng.random(x.shape) < _keep_probability(true_keep, accuracy)
        slot = np.cumsum(keep, axis=1) + filled[rows, None] - 1
        ok = keep & (slot < size)
        r, c = np.nonzero(ok)
        kept[rows[r], slot[r, c]] = x[r, c]
        filled[rows] = np.minimum(size, filled[rows] + keep.sum(axis=1))
    count = np.maximum(filled, 2)
    mask = np.arange(size)[None, :] < count[:, None]
    mean = np.where(mask, kept, 0.0).sum(axis=1) / count
    ssd = np.where(mask, (kept - mean[:, None]) ** 2, 0.0).sum(axis=1)
    return filled, mean, ssd


def _simulate_gaussian(
    regime: str,
    generations: int,
    samples: int,
    n_chains: int,
    fresh: int,
    rng,
    accuracy: float = 1.0,
) -> tuple[list[dict[str, np.ndarray]], int]:
    """Per-generation per-chain metrics, generations 0..``generations``, and the number of
    (chain, generation) fits in ``verify`` that had fewer than M kept samples.

    Generation 1 is fitted on M real samples in every regime; ``fresh`` is the number of
    fresh original samples per generation in ``mix``; ``accuracy`` is the verifier's.
    """
    m = samples
    zeros, ones = np.zeros(n_chains), np.ones(n_chains)
    mu, var = zeros, ones
    out = [_gaussian_stats(mu, var)]
    short = 0
    # Pooled (count, mean, sum of squared deviations) of all data seen (accumulate).
    pooled = (0, zeros, zeros)
    for gen in range(1, generations + 1):
        if gen == 1:
            n_x, mean_x, ssd_x = m, *_draw_group(rng, zeros, ones, m)
        elif regime == "verify":
            filled, mean_x, ssd_x = _verified_group(rng, mu, var, m, accuracy)
            short += int(np.count_nonzero(filled < m))
            n_x = np.maximum(filled, 2)
        elif regime == "mix" and fresh == m:
            n_x, mean_x, ssd_x = m, *_draw_group(rng, zeros, ones, m)
        elif regime == "mix" and fresh > 0:
            n_x, mean_x, ssd_x = _pool(
                m - fresh,
                *_draw_group(rng, mu, var, m - fresh),
                fresh,
                *_draw_group(rng, zeros, ones, fresh),
            )
        else:
            n_x, mean_x, ssd_x = m, *_draw_group(rng, mu, var, m)
        if regime == "accumulate":
            if pooled[0] == 0:
                pooled = (n_x, mean_x, ssd_x)
            else:
                pooled = _pool(*pooled, n_x, mean_x, ssd_x)
            n_x, mean_x, ssd_x = pooled
        mu = mean_x
        var = ssd_x / (n_x - 1)
        out.append(_gaussian_stats(mu, var))
    return out, short


# --------------------------------------------------------------------------------------
# Categorical vocabulary
# --------------------------------------------------------------------------------------


def _simulate_vocabulary(
    regime: str,
    generations: int,
    vocab_samples: int,
    n_chains: int,
    fresh: int,
    p0: np.ndarray,
    rng,
    accuracy: float = 1.0,
) -> np.ndarray:
    """Mean (over chains) surviving vocabulary fraction, generations 0..``generations``.

    In ``verify`` the kept tokens are iid from ``p x P(keep)`` normalised, exactly what
    drawing candidates until ``vocab_samples`` are kept gives.
    """
    v = p0.size
    surviving = np.empty(generations + 1)
    surviving[0] = 1.0
    p_orig = np.broadcast_to(p0, (n_chains, v))
    pooled = np.zeros((n_chains, v))
    p = p_orig
    for gen in range(1, generations + 1):
        if gen == 1:
            counts = rng.multinomial(vocab_samples, p_orig)
        elif regime == "mix" and fresh > 0:
            counts = rng.multinomial(vocab_samples - fresh, p) + rng.multinomial(fresh, p_orig)
        elif regime == "verify":
            with np.errstate(divide="ignore", invalid="ignore"):
                true_keep = np.where(p > 0, np.minimum(1.0, p_orig / p), 0.0)
            q = p * _keep_probability(true_keep, accuracy)
            counts = rng.multinomial(vocab_samples, q / q.sum(axis=1, keepdims=True))
        else:
            counts = rng.multinomial(vocab_samples, p)
        if regime == "accumulate":
            pooled += counts
            base = pooled
        else:
            base = counts
        p = base / base.sum(axis=1, keepdims=True)
        surviving[gen] = float((base > 0).mean())
    return surviving


# --------------------------------------------------------------------------------------
# Result and driver
# --------------------------------------------------------------------------------------


@dataclass
class CollapseResult(Result):
    """Output of :func:`simulate`.

    Attributes
    ----------
    gaussian:
        Tidy frame, one row per (regime, generation) with generation 0 the original
        N(0, 1): ``variance_ratio`` (median over chains of sigma2_n / sigma2_0),
        ``variance_ratio_mean`` (mean over chains), ``tail_mass_ratio`` (median over
        chains of the fitted model's mass beyond +-3 original sigmas, divided by the
        original's 2*Phi(-3)), ``tail_mass_ratio_mean`` (its mean over chains) and
        ``error`` (mean over chains of the squared 2-Wasserstein distance
        ``mu^2 + (sigma - 1)^2`` to N(0, 1)).
    vocabulary:
        Tidy frame: ``regime``, ``generation``, ``surviving_fraction`` (mean over
        chains of the share of the original vocabulary with non-zero probability).
    analytic:
        ``generation``, ``median_variance_ratio`` (exact, ``exp(n E ln chi2/k)``),
        ``median_variance_ratio_approx`` (``exp(-n/(M-1))``), ``mean_variance_ratio`` (1).
    settings:
        The arguments of the run.
    """

    gaussian: pd.DataFrame
    vocabulary: pd.DataFrame
    analytic: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def regimes(self) -> tuple[str, ...]:
        """The regimes this result holds, in :data:`REGIMES` order."""
        present = set(self.gaussian["regime"])
        return tuple(r for r in REGIMES if r in present)

    def to_json_dict(self) -> dict[str, Any]:
        """Plain-Python (JSON-serialisable) view of the per-generation curves."""
        gauss: dict[str, list[dict[str, Any]]] = {}
        vocab: dict[str, list[dict[str, Any]]] = {}
        for regime in self.regimes:
            g = self.gaussian[self.gaussian["regime"] == regime]
            gauss[regime] = [
                {
                    "generation": int(gen),
                    "variance_ratio": float(vr),
                    "tail_mass_ratio": float(tm),
                }
                for gen, vr, tm in zip(
                    g["generation"], g["variance_ratio"], g["tail_mass_ratio"], strict=True
                )
            ]
            v = self.vocabulary[self.vocabulary["regime"] == regime]
            vocab[regime] = [
                {"generation": int(gen), "surviving_fraction": float(sf)}
                for gen, sf in zip(v["generation"], v["surviving_fraction"], strict=True)
            ]
        settings = {
            k: (None if val is None else (float(val) if isinstance(val, float) else int(val)))
            for k, val in self.settings.items()
        }
        return {"gaussian": gauss, "vocabulary": vocab, "settings": settings}

    def summary_table(self) -> pd.DataFrame:
        """One row per regime (plus the analytic ``replace`` curve) at the last generation."""
        last = int(self.settings["generations"])
        g = self.gaussian[self.gaussian["generation"] == last].set_index("regime")
        v = self.vocabulary[self.vocabulary["generation"] == last].set_index("regime")
        table = pd.DataFrame(
            {
                "variance_ratio_median": g["variance_ratio"],
                "variance_ratio_mean": g["variance_ratio_mean"],
                "tail_mass_ratio": g["tail_mass_ratio"],
                "w2_error": g["error"],
                "surviving_vocab": v["surviving_fraction"],
            }
        ).reindex(list(self.regimes))
        a = self.analytic[self.analytic["generation"] == last].iloc[0]
        table.loc["analytic (replace)"] = [
            a["median_variance_ratio"],
            a["mean_variance_ratio"],
            np.nan,
            np.nan,
            np.nan,
        ]
        table.index.name = f"generation {last}"
        return table

    def _header(self) -> str:
        s = self.settings
        return (
            f"CollapseResult: {s['generations']} generations, M={s['samples']} samples/generation, "
            f"{s['n_chains']} chains, fresh_fraction={s['fresh_fraction']}, "
            f"vocabulary V={s['vocab_size']} (Zipf {s['zipf_exponent']}, "
            f"{s['vocab_samples']} tokens/generation, {s['vocab_chains']} chains), "
            f"verifier accuracy {s['verifier_accuracy']:g}, seed={s['seed']}"
        )

    def __repr__(self) -> str:
        with pd.option_context("display.float_format", "{:.4g}".format, "display.width", 120):
            return f"{self._header()}\n{self.summary_table().to_string()}"

    def summary(self) -> pd.DataFrame:
        """:meth:`summary_table` with the regime as a column (numeric columns)."""
        table = self.summary_table()
        table.index.name = "regime"
        return table.reset_index()

    def _title(self) -> str:
        return self._header()


def _stream(streams, model: str, regime: str):
    """The random stream of (model, regime). The first three regimes keep the streams
    they had before ``verify`` existed, so their numbers did not change when it came."""
    i = REGIMES.index(regime)
    if i < 3:
        return streams[i + (3 if model == "vocabulary" else 0)]
    return streams[2 * i + (1 if model == "vocabulary" else 0)]


def _check_accuracy(accuracy) -> float:
    low, high = VERIFIER_ACCURACY_RANGE
    if isinstance(accuracy, bool) or not low <= float(accuracy) <= high:
        raise ValueError(
            f"verifier_accuracy must be between 0.5 (a coin flip) and 1 (perfect), "
            f"got {accuracy!r}."
        )
    return float(accuracy)


def simulate(
    generations: int = 50,
    samples: int = 100,
    seed: int | None = 0,
    n_chains: int = 2000,
    fresh_fraction: float = 0.1,
    vocab_size: int = 1000,
    zipf_exponent: float = 1.1,
    vocab_samples: int | None = None,
    vocab_chains: int = 100,
    verifier_accuracy: float = 0.9,
    regimes: tuple[str, ...] = REGIMES,
) -> CollapseResult:
    """Simulate Gaussian and vocabulary model collapse in each regime.

    Parameters
    ----------
    generations:
        Number of refitting rounds (>= 1); results cover generations 0..generations.
    samples:
        M, Gaussian samples drawn per generation (>= 2).
    seed:
        Seed for ``numpy.random.default_rng``; the same seed gives the same numbers.
    n_chains:
        Independent Gaussian chains (>= 1).
    fresh_fraction:
        Share of each generation's samples that are fresh original data in ``mix``
        (0..1); rounded to a whole number of samples.
    vocab_size, zipf_exponent:
        The original token distribution ``p_k ~ k^-zipf_exponent``.
    vocab_samples:
        Tokens drawn per generation; default ``10 * vocab_size`` (the rarest token of
        the default Zipf(1.1) over 1000 tokens then expects ~0.9 draws).
    vocab_chains:
        Independent vocabulary chains (>= 1); fewer than ``n_chains`` because each is a
        ``vocab_size``-way multinomial per generation.
    verifier_accuracy:
        Probability that the verifier of the ``verify`` regime gets a sample's verdict
        right, 0.5 (no information) to 1 (perfect). 0.9 is an illustration, not a
        measurement: see :func:`verification_sweep` for the whole range.
    regimes:
        Which regimes to run (default all of :data:`REGIMES`); each has its own random
        stream, so a regime's numbers do not depend on which others run.
    """
    check_count(generations, "generations", 1)
    _check_samples(samples)
    check_count(n_chains, "n_chains", 1)
    check_count(vocab_chains, "vocab_chains", 1)
    if not 0.0 <= fresh_fraction <= 1.0:
        raise ValueError(f"fresh_fraction must be between 0 and 1, got {fresh_fraction!r}.")
    check_count(vocab_size, "vocab_size", 2)
    if vocab_samples is None:
        vocab_samples = 10 * int(vocab_size)
    if int(vocab_samples) != vocab_samples or vocab_samples < 1:
        raise ValueError(f"vocab_samples must be a positive integer, got {vocab_samples!r}.")
    accuracy = _check_accuracy(verifier_accuracy)
    regimes = tuple(regimes)
    unknown = [r for r in regimes if r not in REGIMES]
    if unknown or not regimes:
        raise ValueError(f"regimes must be a non-empty subset of {list(REGIMES)}, got {regimes}.")
    generations, samples, n_chains = int(generations), int(samples), int(n_chains)
    vocab_size, vocab_samples, vocab_chains = int(vocab_size), int(vocab_samples), int(vocab_chains)
    p0 = zipf_probabilities(vocab_size, zipf_exponent)

    streams = np.random.default_rng(seed).spawn(2 * len(REGIMES))
    gens = np.arange(generations + 1)

    g_frames = []
    v_frames = []
    short_fits = 0
    for regime in REGIMES:
        if regime not in regimes:
            continue
        fresh_g = round(fresh_fraction * samples) if regime == "mix" else 0
        per_gen, short = _simulate_gaussian(
            regime,
            generations,
            samples,
            n_chains,
            fresh_g,
            _stream(streams, "gaussian", regime),
            accuracy,
        )
        short_fits += short
        var = np.stack([d["var"] for d in per_gen])
        tail = np.stack([d["tail"] for d in per_gen])
        w2 = np.stack([d["w2"] for d in per_gen])
        g_frames.append(
            pd.DataFrame(
                {
                    "regime": regime,
                    "generation": gens,
                    "variance_ratio": np.median(var, axis=1),
                    "variance_ratio_mean": var.mean(axis=1),
                    "tail_mass_ratio": np.median(tail, axis=1),
                    "tail_mass_ratio_mean": tail.mean(axis=1),
                    "error": w2.mean(axis=1),
                }
            )
        )
        fresh_v = round(fresh_fraction * vocab_samples) if regime == "mix" else 0
        surv = _simulate_vocabulary(
            regime,
            generations,
            vocab_samples,
            vocab_chains,
            fresh_v,
            p0,
            _stream(streams, "vocabulary", regime),
            accuracy,
        )
        v_frames.append(
            pd.DataFrame({"regime": regime, "generation": gens, "surviving_fraction": surv})
        )

    analytic = pd.DataFrame(
        {
            "generation": gens,
            "median_variance_ratio": analytic_median_variance_ratio(gens, samples),
            "median_variance_ratio_approx": analytic_median_variance_ratio(
                gens, samples, exact=False
            ),
            "mean_variance_ratio": analytic_mean_variance_ratio(gens, samples),
        }
    )
    settings = {
        "generations": generations,
        "samples": samples,
        "seed": seed,
        "n_chains": n_chains,
        "fresh_fraction": float(fresh_fraction),
        "vocab_size": vocab_size,
        "zipf_exponent": float(zipf_exponent),
        "vocab_samples": vocab_samples,
        "vocab_chains": vocab_chains,
        "verifier_accuracy": accuracy,
        "verify_short_fits": short_fits,
    }
    return CollapseResult(
        gaussian=pd.concat(g_frames, ignore_index=True),
        vocabulary=pd.concat(v_frames, ignore_index=True),
        analytic=analytic,
        settings=settings,
    )


def verification_sweep(
    accuracies=(0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0),
    generations: int = 50,
    samples: int = 100,
    seed: int | None = 0,
    n_chains: int = 1000,
    vocab_chains: int = 50,
    **kwargs,
) -> pd.DataFrame:
    """How collapse depends on the verifier: the ``verify`` regime at each accuracy.

    One row per accuracy at the last generation, with the ``replace`` regime's values in
    the last row for comparison (accuracy NaN): ``variance_ratio`` (median sigma2_n /
    sigma2_0), ``tail_mass_ratio`` (median mass beyond +-3 sigma over the original's),
    ``w2_error`` (mean squared W2 distance to N(0, 1)) and ``surviving_vocab``. The same
    seed is used at every accuracy (common random numbers), so differences between rows
    are the verifier's, not noise's. Other keyword arguments go to :func:`simulate`.
    """
    rows = []

    def row(result: CollapseResult, regime: str) -> dict[str, float]:
        t = result.summary_table().loc[regime]
        return {
            "variance_ratio": float(t["variance_ratio_median"]),
            "tail_mass_ratio": float(t["tail_mass_ratio"]),
            "w2_error": float(t["w2_error"]),
            "surviving_vocab": float(t["surviving_vocab"]),
        }

    common = dict(generations=generations, samples=samples, seed=seed, n_chains=n_chains)
    common.update(vocab_chains=vocab_chains, **kwargs)
    for accuracy in accuracies:
        result = simulate(verifier_accuracy=accuracy, regimes=("verify",), **common)
        rows.append({"regime": "verify", "accuracy": float(accuracy), **row(result, "verify")})
    replace = simulate(regimes=("replace",), **common)
    rows.append({"regime": "replace", "accuracy": np.nan, **row(replace, "replace")})
    return pd.DataFrame(rows)
