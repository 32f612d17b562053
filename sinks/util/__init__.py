"""The layer every sink shares: depends on no vendor package and never on ``sinks.docker``.

``client`` (the one HTTP seam: aiohttp's client, or httpx over a test transport; gzip,
transport errors mapped once, secrets scrubbed), ``proxy`` (proxies from the environment),
``answer`` (Answer, Outcome), ``retry`` (pure classifier, Retry-After, backoff),
``batch`` (batch and join options, cutting requests), ``tls``, ``parse`` (log-opt values in
Docker's and Go's syntax), ``goregexp`` (Go's regexp syntax, for ``parse``), ``gojson`` and
``timefmt`` (wire text as Go writes it), ``record`` (Record, Records, Context, TagInfo),
``base`` (the Sink and SinkConfig protocols) and ``errors``.
"""
