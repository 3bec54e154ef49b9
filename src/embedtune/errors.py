"""User-facing errors.

Anything raised as an :class:`EmbedtuneError` is a problem with the user's input (a file,
a config key, a missing package), not a bug: the CLI prints its message and exits with
status 2 instead of a traceback. Messages say what is wrong, where, and what to do.
"""

from __future__ import annotations


class EmbedtuneError(Exception):
    """A problem the user can fix; the CLI prints it and exits 2."""


class DataError(EmbedtuneError, ValueError):
    """A data file is missing or malformed (the message names file and line)."""


class ConfigError(EmbedtuneError, ValueError):
    """A configuration key is unknown or has a bad value (the message names the key)."""


class ModelNotAvailable(EmbedtuneError):
    """A named model cannot be resolved offline (the message gives the pip command)."""


class TrainingError(EmbedtuneError):
    """A run cannot start or go on (too little data, a mismatched resume, non-finite steps)."""
