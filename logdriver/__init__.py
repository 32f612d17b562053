"""logdriver: a Docker log-driver plugin that keeps `docker logs` history and ships every line."""

__version__ = "0.1.0"
