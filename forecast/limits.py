"""Resource limits of everything a user's input controls, in one place (issue 20).

Each limit is checked where the input arrives (argument parsing, file loading, settings
objects), before any expensive work, with an error that names the limit. The values are
generous for real use and far below what exhausts a 2-core, few-GB machine.
"""

from __future__ import annotations

#: Sampler settings: 100,000 draws x 16 chains of a demand model is about 1 GB of
#: posterior; beyond that a fit exhausts memory before it helps.
SAMPLER_LIMITS: dict[str, int] = {"draws": 100_000, "tune": 100_000, "chains": 16}
#: Random seeds (numpy's SeedSequence takes any non-negative integer; 32 bits is what
#: the CLI, scenario files and sampler settings accept).
SEED_RANGE = (0, 2**32 - 1)
#: Largest models table or scenario file read (bytes). The bundled table is 60 kB and
#: Epoch's full "Notable AI Models" CSV about 3 MB.
MAX_INPUT_BYTES = 50_000_000
#: Joint Monte Carlo draws of a scenario run.
DRAWS_RANGE = (100, 5_000_000)
#: Model-collapse simulator (`forecast collapse`): run time grows linearly with
#: generations (0.8.2, 2 cores: 5.6 s for the default 50, 93 s and a peak of 1.08 GB for
#: 1,000; the fixed-budget regression keeps every generation's labels) and with samples.
COLLAPSE_LIMITS: dict[str, int] = {"generations": 1_000, "samples": 1_000_000}

#: A verifier's accuracy: 0.5 (a coin flip) to 1 (perfect); the collapse simulator's
#: ``verify`` regime, the synthetic lever and ``forecast remedies`` share it.
VERIFIER_ACCURACY_RANGE = (0.5, 1.0)
#: A fixed synthetic-data multiplier of the usable stock (``synthetic = 2.0``).
SYNTHETIC_MULTIPLIER_RANGE = (1.0, 100.0)
