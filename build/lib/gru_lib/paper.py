"""Every number this library takes from the paper, in one place.

Chung, Gulcehre, Cho & Bengio (2014), "Empirical Evaluation of Gated Recurrent Neural Networks
on Sequence Modeling", arXiv:1412.3555 (NIPS 2014 Deep Learning workshop). Each constant
names the table or section it comes from; where the paper is silent and the authors' public
code (github.com/jych/librnn) supplies the value, the comment says so.

Nothing here imports anything: the rest of the library reads its vocabulary from this module.
"""
from __future__ import annotations

import math

# The three units compared (section 2), in the order every table and figure uses.
KINDS = ("tanh", "gru", "lstm")
# The splits of every data set (section 4: train, early stopping on valid, report test).
SPLITS = ("train", "valid", "test")

# -- Table 1: model sizes ------------------------------------------------------------------------

UNITS = {                                     # units per model
    "music": {"tanh": 100, "gru": 46, "lstm": 36},
    "speech": {"tanh": 400, "gru": 227, "lstm": 195},
}
PARAMS = {                                    # the counts the paper reports (music: rounded)
    "music": {"tanh": 20_100, "gru": 20_200, "lstm": 19_800},
    "speech": {"tanh": 168_400, "gru": 168_888, "lstm": 169_065},
}

# -- section 4.1 and the authors' code: the music inputs -------------------------------------------

# The piano-roll width of each music set = its highest MIDI note (the authors' code sets
# column midi - 1); the paper quotes 93-, 96-, 105- and 108-dimensional inputs.
KEY_WIDTHS = {"jsb": 96, "nottingham": 93, "musedata": 105, "piano-midi": 108}

# -- section 4.1: the speech framing ----------------------------------------------------------------

SPEECH_READ = 20          # samples read per step
SPEECH_PREDICT = 10       # samples predicted per step (= the hop)
SPEECH_COMPONENTS = 20    # Gaussians in the output mixture

# -- section 4: the training protocol -------------------------------------------------------------

WEIGHT_NOISE = 0.075      # std of the Gaussian weight noise (Graves 2011)
CLIP_NORM = 1.0           # the gradient is rescaled to this norm if larger (Pascanu et al. 2013)
CANDIDATES = 10           # learning-rate candidates per model ...
LR_LOW, LR_HIGH = math.exp(-12), math.exp(-6)   # ... log-uniform in U(-12, -6), natural log
# Not in the paper; from the authors' JSB configuration (exp/music/jsb/*.yaml):
BATCH_SIZE = 1
MAX_EPOCHS = 500

# -- Table 2: average negative log-probability per time step, (train, test) ----------------------

TABLE2 = {
    "nottingham": {"tanh": (3.22, 3.13), "gru": (2.79, 3.23), "lstm": (3.08, 3.20)},
    "jsb": {"tanh": (8.82, 9.10), "gru": (6.94, 8.54), "lstm": (8.15, 8.67)},
    "musedata": {"tanh": (5.64, 6.23), "gru": (5.06, 5.99), "lstm": (5.18, 6.23)},
    "piano-midi": {"tanh": (5.64, 9.03), "gru": (4.93, 8.82), "lstm": (6.49, 9.03)},
}
# The speech rows, on Ubisoft's private corpora: printed beside our FSDD numbers for
# reference only, never subtracted from them (a different corpus, scale and amount of data).
TABLE2_UBISOFT = {
    "Ubisoft A": {"tanh": (6.29, 6.44), "gru": (2.31, 3.59), "lstm": (1.44, 2.70)},
    "Ubisoft B": {"tanh": (7.61, 7.62), "gru": (0.38, 0.88), "lstm": (0.80, 1.26)},
}
