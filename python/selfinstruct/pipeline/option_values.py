"""An option's value as the user wrote it, made into the value its config field takes: the text of
a flag (escapes such as \\n spelled out) or a value read from a TOML config file (checked against
the option's type and choices, with an error naming the file and the key)."""
from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .options import Spec

# Only the escapes are decoded: decoding the whole text as unicode_escape reads it as Latin-1 and
# garbles every non-ASCII character ("café\\n" would become "cafÃ©\n").
_ESCAPE = re.compile(r"\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|N\{[^}]*\}|[0-7]{1,3}|[\\'\"abfnrtv\n])")
_KIND_NAMES = {bool: "true or false", int: "an integer", float: "a number", Path: "a path string"}


def unescape_flag_text(text: str) -> str:
    r"""A flag's text with Python's backslash escapes decoded (\n, \t, \\, \xhh, \uhhhh, ...), so a stop
    string can spell a newline as \n; other characters, non-ASCII ones included, stay as they are."""
    if "\\" not in text:
        return text
    return _ESCAPE.sub(lambda escape: codecs.decode(escape.group(), "unicode_escape"), text)


def config_file_value(spec: "Spec", value: Any, origin: str) -> Any:
    """The value a TOML config file gives option `spec`, as the type its field takes (int -> float,
    a string -> Path, a string or list of strings -> tuple). Raises ValueError naming `origin` (the
    file) and the key if the value has the wrong type or is not one of the option's choices."""

    def bad() -> ValueError:
        return ValueError(f"{origin}: {spec.flag[2:]} = {value!r} is not {_KIND_NAMES.get(spec.kind, 'a string')}")

    if spec.kind is bool:
        if not isinstance(value, bool):
            raise bad()
    elif spec.kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad()
    elif spec.kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad()
        value = float(value)
    elif spec.kind is tuple:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{origin}: {spec.flag[2:]} must be a list of strings")
        value = tuple(value)
    elif spec.kind is Path:
        if not isinstance(value, str):
            raise bad()
        value = Path(value)
    elif not isinstance(value, str):
        raise bad()
    if spec.choices and value not in spec.choices:
        raise ValueError(f"{origin}: {spec.flag[2:]} = {value!r} is not one of {', '.join(spec.choices)}")
    return value
