"""Activity dynamics: recording, avalanches, power-law statistics, crackling noise, branching ratio.

Typical use::

    from regions import dynamics as dyn
    recorder = dyn.ActivityRecorder(max_iterations=3)
    recorder.record(step, iteration, columns, cells)          # each settling iteration
    aval = dyn.avalanches(recorder.population_activity())      # bin = mean inter-event interval
    fit = dyn.fit_power_law(aval.sizes)                        # tau, x_min by KS, sigma
    dyn.compare_distributions(aval.sizes, fit)                 # vs lognormal / exponential / TPL
    dyn.multistep_regression(recorder.population_activity())   # branching ratio m

Ground truth: ``galton_watson_avalanches`` (Poisson(m) offspring) and
``driven_branching_process``; ``subsample`` observes a fraction of the units.
pydata ``sparse`` (numba) and matplotlib are imported lazily, only by
``ActivityRecorder.to_coo`` and ``ActivityRecorder.raster_plot``.
"""

from .alternatives import (
    ALTERNATIVES,
    Comparison,
    TailFit,
    compare_distributions,
    fit_exponential,
    fit_lognormal,
    fit_truncated_power_law,
    preferred_distribution,
)
from .avalanches import (
    AvalancheSet,
    avalanches,
    driven_branching_process,
    galton_watson_avalanches,
    subsample,
)
from .branching import MultistepRegression, branching_ratio_pooled, multistep_regression, regression_slopes
from .crackling import (
    CracklingNoise,
    ScalingFit,
    ShapeCollapse,
    avalanche_exponents,
    crackling_noise,
    predicted_gamma,
    shape_collapse,
    size_duration_exponent,
)
from .power_law import (
    BootstrapResult,
    PowerLawFit,
    bootstrap_goodness_of_fit,
    fit_power_law,
    hurwitz_zeta,
    log_hurwitz_zeta,
    power_law_exponent,
    power_law_log_pmf,
    sample_discrete_power_law,
)
from .recording import ActivityRecorder, state_changes

__all__ = [
    # recording
    "ActivityRecorder",
    "state_changes",
    # avalanches and ground truth
    "AvalancheSet",
    "avalanches",
    "galton_watson_avalanches",
    "driven_branching_process",
    "subsample",
    # power laws
    "PowerLawFit",
    "BootstrapResult",
    "fit_power_law",
    "power_law_exponent",
    "power_law_log_pmf",
    "hurwitz_zeta",
    "log_hurwitz_zeta",
    "sample_discrete_power_law",
    "bootstrap_goodness_of_fit",
    # alternatives
    "ALTERNATIVES",
    "TailFit",
    "Comparison",
    "fit_lognormal",
    "fit_exponential",
    "fit_truncated_power_law",
    "compare_distributions",
    "preferred_distribution",
    # crackling noise
    "ScalingFit",
    "ShapeCollapse",
    "CracklingNoise",
    "size_duration_exponent",
    "predicted_gamma",
    "shape_collapse",
    "avalanche_exponents",
    "crackling_noise",
    # branching ratio
    "MultistepRegression",
    "branching_ratio_pooled",
    "multistep_regression",
    "regression_slopes",
]
