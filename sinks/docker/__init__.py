"""Docker's own semantics, as moby implements them: the ``tag`` template (``template``, over the
Go text/template engine in ``gotemplate/``), the extra attributes (``attrs``: ``labels``,
``labels-regex``, ``env``, ``env-regex``) and the fixed per-container Context built from
StartLogging's Info (``context``). Imports ``sinks.util`` only; no vendor.
"""
