"""Figures. Every ``plot_*`` function takes a results object and an optional matplotlib
axes and returns a :class:`matplotlib.figure.Figure`; its ``plot_*_data`` twin returns a
DataFrame holding exactly the plotted numbers. Shared style lives in ``_style``.
"""

from forecast.plots.collapse import (
    plot_collapse_tails,
    plot_collapse_tails_data,
    plot_collapse_variance,
    plot_collapse_variance_data,
    plot_collapse_vocabulary,
    plot_collapse_vocabulary_data,
    plot_linear_collapse,
    plot_linear_collapse_data,
    plot_real_weight,
    plot_real_weight_data,
    plot_verification,
    plot_verification_data,
)
from forecast.plots.compute import plot_compute, plot_compute_data
from forecast.plots.demand import (
    plot_demand_models,
    plot_demand_models_data,
    plot_diagnostics,
    plot_diagnostics_data,
)
from forecast.plots.figures import (
    plot_main,
    plot_main_data,
    plot_prob_exhausted,
    plot_prob_exhausted_data,
    plot_sensitivity,
    plot_sensitivity_data,
    plot_stock_waterfall,
    plot_stock_waterfall_data,
)
from forecast.plots.remedies import plot_remedies, plot_remedies_data
from forecast.plots.skill import (
    plot_calibration,
    plot_calibration_data,
    plot_skill,
    plot_skill_data,
)
from forecast.plots.sobol import plot_global_sensitivity, plot_global_sensitivity_data
from forecast.plots.style import add_footer, interval_note, new_figure, token_formatter

__all__ = [
    "add_footer",
    "interval_note",
    "new_figure",
    "plot_calibration",
    "plot_calibration_data",
    "plot_collapse_tails",
    "plot_collapse_tails_data",
    "plot_collapse_variance",
    "plot_collapse_variance_data",
    "plot_collapse_vocabulary",
    "plot_collapse_vocabulary_data",
    "plot_compute",
    "plot_compute_data",
    "plot_demand_models",
    "plot_demand_models_data",
    "plot_diagnostics",
    "plot_diagnostics_data",
    "plot_global_sensitivity",
    "plot_global_sensitivity_data",
    "plot_linear_collapse",
    "plot_linear_collapse_data",
    "plot_main",
    "plot_main_data",
    "plot_prob_exhausted",
    "plot_prob_exhausted_data",
    "plot_real_weight",
    "plot_real_weight_data",
    "plot_remedies",
    "plot_remedies_data",
    "plot_sensitivity",
    "plot_sensitivity_data",
    "plot_skill",
    "plot_skill_data",
    "plot_stock_waterfall",
    "plot_stock_waterfall_data",
    "plot_verification",
    "plot_verification_data",
    "token_formatter",
]
