"""The package's errors, at the base so that every layer raises the same ones."""


class ConfigError(ValueError):
    """An invalid configuration value; the message names the key, the value and what is allowed."""
