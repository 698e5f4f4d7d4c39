"""``spintron_nn.energy.params``: the parameter-table loader under its older
name, for the code, tests and docs that import it from here.  The loader
itself is :mod:`spintron_nn.parameters` (shared with ``devices/``)."""

from spintron_nn.parameters import *  # noqa: F403 - re-exporting is this module's job
from spintron_nn.parameters import __all__  # noqa: F401 - the same public names
