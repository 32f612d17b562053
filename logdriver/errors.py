"""The error a plugin API request is refused with."""


class RequestError(ValueError):
    """A request the plugin refuses; the message is safe to show the user."""
