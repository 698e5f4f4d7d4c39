"""``spintron_nn.energy.params``: the parameter-table loader under its older
name, for the code, tests and docs that import it from here.  The loader
itself is :mod:`spintron_nn.parameters` (shared with ``devices/``)."""

from spintron_nn.parameters import (
    SHIPPED_TABLES,
    Parameter,
    ParameterTable,
    check_value,
    load_parameters,
    load_table_file,
    read_parameter_file,
)

__all__ = [
    "Parameter",
    "ParameterTable",
    "SHIPPED_TABLES",
    "check_value",
    "load_parameters",
    "load_table_file",
    "read_parameter_file",
]
