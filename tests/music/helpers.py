"""Small helpers shared by the music tests: the data sets' figures from ../shared/data/README.md
and hand-made pickle layouts."""
import os

README = {  # counts, train length min/mean/max, MIDI range, max notes at once (all splits)
    "jsb": ((229, 76, 77), (25, 60.3, 129), (43, 96), 4),
    "nottingham": ((694, 173, 170), (40, 254.4, 1788), (31, 93), 9),
    "musedata": ((524, 135, 124), (9, 467.9, 3457), (21, 105), 15),
    "piano-midi": ((87, 12, 25), (111, 872.5, 3857), (21, 108), 12),
}


def layout(train=None, valid=None, test=None):
    return {"train": train or [[(60, 64, 67)]], "valid": valid or [[(62,)]], "test": test or [[()]]}


class RunsCommand:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))
