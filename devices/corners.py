"""Process / temperature corners: a resistance scale applied to the MTJ and the
access device, and an operating temperature."""

from __future__ import annotations

from dataclasses import dataclass

from spintron_nn.devices.table import check_parameter, load_device_table, table_value
from spintron_nn.errors import SpintronError

CORNER_NAMES = ("tt", "ff", "ss")


@dataclass(frozen=True)
class Corner:
    name: str
    r_scale: float
    temperature: float

    def __post_init__(self):
        check_parameter("corner.tt.r_scale", self.r_scale)
        check_parameter("corner.tt.temperature", self.temperature)

    @classmethod
    def named(cls, name: str, parameters=None) -> "Corner":
        key = name.lower()
        if f"corner.{key}.r_scale" not in load_device_table():
            raise SpintronError(f"unknown corner {name!r}; expected one of {', '.join(CORNER_NAMES)}")
        return cls(key, table_value(f"corner.{key}.r_scale", parameters),
                   table_value(f"corner.{key}.temperature", parameters))
