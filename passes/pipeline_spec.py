"""Reading ``-p 'pass-a,pass-b{opt=1}'`` text into xDSL ``ArgSpec``s.

xDSL's pipeline parser is strict in ways a user trips over, so three things
are smoothed here before its ``from_pass_spec`` sees the options:

* an unquoted option value that its lexer cannot read as one token (a path:
  ``data=/x/y.npy``) is quoted, since such text is a syntax error otherwise;
* an integer literal given to a float option (``percentile=100``) becomes a
  float, as ``--list-passes`` prints the default ``100.0`` and users type
  ``100``; ``true``/``false`` are refused for numeric options (Python's bool
  is an int, so xDSL would take ``batch=true`` as ``batch=1``);
* a syntax error is one line saying where, not xDSL's caret block.
"""

from __future__ import annotations

import re
from types import NoneType
from typing import Any, get_args, get_type_hints

from xdsl.passes import ModulePass
from xdsl.utils.arg_spec import ArgSpec, parse_pipeline
from xdsl.utils.exceptions import ArgSpecParseError

from spintron_nn.errors import SpintronError

# The single tokens xDSL's lexer reads as a value (arg_spec._lexer_rules).
_ONE_TOKEN_VALUE = re.compile(
    r"[0-9]+[A-Za-z_-]+[A-Za-z0-9_-]*|[-+]?[0-9]+(\.[0-9]*([eE][-+]?[0-9]+)?)?|[A-Za-z0-9_-]+"
)
# A quoted string (copied as it is) or `=` and the unquoted value after it.
_STRING_OR_VALUE = re.compile(r'"(?:\\.|[^"\\])*"|=(?P<value>[^\s{}",=\[\]]+)')
_QUOTE_HINT = 'quote string values, e.g. calibrate{data="/path/x.npy"}'


def quote_bare_values(spec: str) -> str:
    """``data=/x/y.npy`` -> ``data="/x/y.npy"``.  Only a value that is not one
    lexer token is quoted: such text never parsed, so no valid pipeline changes
    meaning.  A value with spaces, commas or braces still needs quotes."""

    def quote(match: re.Match[str]) -> str:
        value = match.group("value")
        if value is None or _ONE_TOKEN_VALUE.fullmatch(value):
            return match.group(0)
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'="{escaped}"'

    return _STRING_OR_VALUE.sub(quote, spec)


def parse_arg_specs(spec: str) -> tuple[ArgSpec, ...]:
    text = quote_bare_values(spec)
    try:
        return tuple(parse_pipeline(text))
    # ArgSpecParseError is a BaseException, not an Exception
    except ArgSpecParseError as exc:
        raise SpintronError(f"invalid pipeline '{spec}': {_one_line_parse_error(exc, text)}") from None
    except Exception as exc:
        raise SpintronError(f"invalid pipeline '{spec}': {exc}") from None


def _one_line_parse_error(exc: ArgSpecParseError, text: str) -> str:
    """xDSL's message is a header, ``pass-pipeline:LINE:COL``, the source, a
    caret and the message; keep the message and show where it points (the
    text from there on: columns would count the quotes added above)."""
    message = str(exc)
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    location = re.search(r"pass-pipeline:\d+:(\d+)", message)
    if not lines or location is None:
        return " ".join(message.split())
    offset = int(location.group(1)) - 1
    summary = lines[-1][0].lower() + lines[-1][1:]
    rest = text[offset:]
    where = f"at '{rest[:24]}'" if rest else "at the end"
    before = text[:offset]
    if rest and before.count("{") > before.count("}"):
        # inside an option block the usual cause is a string left unquoted
        return f"{summary} {where}; {_QUOTE_HINT}"
    return f"{summary} {where}"


def coerce_options(cls: type[ModulePass], arg_spec: ArgSpec) -> ArgSpec:
    """Integer literals for float options become floats; bools for numeric
    options are refused (see the module docstring)."""
    hints = get_type_hints(cls)
    parameters = {}
    for key, values in arg_spec.parameters.items():
        accepted = _accepted_types(hints.get(key.replace("-", "_")))
        if accepted & {int, float} and any(isinstance(v, bool) for v in values):
            kind = "an integer" if int in accepted else "a number"
            shown = ",".join(str(v).lower() for v in values)
            raise SpintronError(f"pass '{arg_spec.name}': {key} must be {kind}, got {shown}")
        if float in accepted and int not in accepted:
            values = tuple(float(v) if isinstance(v, int) else v for v in values)
        parameters[key] = values
    return ArgSpec(arg_spec.name, parameters)


def _accepted_types(hint: Any) -> set[type]:
    if hint is None:
        return set()
    members = get_args(hint) or (hint,)
    return {member for member in members if member is not NoneType}


__all__ = ["coerce_options", "parse_arg_specs", "quote_bare_values"]
