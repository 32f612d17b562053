"""The plugin's durable store of container logs: history for docker logs, spool for delivery."""
