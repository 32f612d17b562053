"""TLS options of a sink (CA, client certificate, server name, skip-verify) -> an SSLContext.

Trust without a CA option is the system store (as Go, and so Docker's splunk driver, uses; it
honours ``SSL_CERT_FILE``/``SSL_CERT_DIR``), or httpx's bundled store when the system has none.
Proxies come from ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` (proxy.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import ssl
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .errors import SinkOptionError
from .parse import invalid, opt, parse_bool

PEM_MARKER = "-----BEGIN CERTIFICATE-----"  # a CA value holding this is inline PEM, not a path


@dataclass(frozen=True, slots=True)
class TLSKeys:
    """The log-opt names of one sink's TLS settings (None: the sink has no such option)."""

    ca: str
    server_name: str
    skip_verify: str
    cert: str | None = None
    key: str | None = None

    @classmethod
    def with_prefix(cls, prefix: str) -> TLSKeys:
        return cls(ca=f"{prefix}-tls-ca", server_name=f"{prefix}-tls-server-name",
                   skip_verify=f"{prefix}-tls-skip-verify", cert=f"{prefix}-tls-cert",
                   key=f"{prefix}-tls-key")

    def all(self) -> frozenset[str]:
        return frozenset(k for k in (self.ca, self.server_name, self.skip_verify, self.cert,
                                     self.key) if k)


class _ServerNameContext(ssl.SSLContext):
    """Presents and verifies a fixed server name whatever host was dialled (Go's
    ``tls.Config.ServerName``); asyncio's TLS (aiohttp) calls ``wrap_bio``, httpx's
    ``wrap_socket`` or ``wrap_bio``, through CONNECT proxies too."""

    server_name: str | None = None

    def wrap_bio(self, incoming: Any, outgoing: Any, server_side: bool = False,
                 server_hostname: Any = None, session: Any = None) -> ssl.SSLObject:
        return super().wrap_bio(incoming, outgoing, server_side,
                                self.server_name or server_hostname, session)

    def wrap_socket(self, sock: Any, server_side: bool = False,
                    do_handshake_on_connect: bool = True, suppress_ragged_eofs: bool = True,
                    server_hostname: Any = None, session: Any = None) -> ssl.SSLSocket:
        return super().wrap_socket(sock, server_side, do_handshake_on_connect,
                                   suppress_ragged_eofs, self.server_name or server_hostname,
                                   session)


@functools.cache
def _bundled_ca_der() -> bytes:
    import httpx  # its bundled store (certifi), only when the system has none

    certs = httpx.create_ssl_context(trust_env=False).get_ca_certs(binary_form=True)
    return b"".join(c for c in certs if isinstance(c, bytes))


@dataclass(frozen=True, slots=True)
class TLSOptions:
    """Parsed with no I/O; files are read by ``read_files()`` (once, by the plugin), else by
    ``ssl_context()`` when the client is built."""

    keys: TLSKeys
    ca_file: str | None = None
    ca_pem: str | None = field(default=None, repr=False)
    cert_file: str | None = None
    key_file: str | None = None
    server_name: str | None = None
    skip_verify: bool = False
    # The files' contents once ``read_files()`` read them (by the same key order: ca, cert, key);
    # the paths stay for messages. A private key is among them: never in a repr.
    contents: tuple[bytes | None, bytes | None, bytes | None] | None = field(
        default=None, repr=False)

    @classmethod
    def from_options(cls, opts: Mapping[str, str], keys: TLSKeys) -> TLSOptions:
        ca_file = ca_pem = None
        if keys.ca in opts:
            value = opts[keys.ca]
            if not value.strip():
                raise invalid(opt(keys.ca), "empty (give a PEM file path or inline PEM)")
            if PEM_MARKER in value:
                try:
                    ssl.create_default_context(cadata=value)
                except (ssl.SSLError, ValueError) as exc:
                    raise invalid(opt(keys.ca), "inline PEM holds no readable certificate"
                                  ) from exc
                ca_pem = value
            else:
                ca_file = value
        cert_file = opts.get(keys.cert) if keys.cert else None
        key_file = opts.get(keys.key) if keys.key else None
        if key_file is not None and cert_file is None and keys.cert:
            raise SinkOptionError(f"log-opt {keys.key!r} needs {keys.cert!r}")
        for key, path in ((keys.cert, cert_file), (keys.key, key_file)):
            if key and path is not None and not path.strip():
                raise invalid(opt(key), "empty file path")
        server_name = opts.get(keys.server_name)
        if server_name is not None and (not server_name or any(c.isspace() for c in server_name)):
            raise invalid(opt(keys.server_name), f"{server_name!r} is not a host name")
        skip = False
        if keys.skip_verify in opts:
            skip = parse_bool(opt(keys.skip_verify), opts[keys.skip_verify])
        return cls(keys, ca_file, ca_pem, cert_file, key_file, server_name, skip)

    def read_files(self) -> TLSOptions:
        """A copy holding its files' contents, so they are read once (by the plugin, at
        StartLogging) and a client built from it, in the shipper process too, reads no file.
        Raises SinkOptionError naming the key, as ``ssl_context()`` would."""
        if self.contents is not None or (self.ca_file is None and self.cert_file is None):
            return self
        self._check_files()
        read: list[bytes | None] = []
        for i, path in enumerate((self.ca_file, self.cert_file, self.key_file)):
            try:
                read.append(None if path is None else _read(path))
            except OSError as exc:
                raise (self._chain_error(exc) if i else self._ca_error(exc)) from exc
        return dataclasses.replace(self, contents=(read[0], read[1], read[2]))

    def ssl_context(self) -> ssl.SSLContext:
        """Build the context, reading the files now (unless ``read_files()`` did); raises
        SinkOptionError naming the key.

        With the system's CAs and no client certificate (the usual case), containers share one
        context per server name and verify setting: each costs about 1 MB of CA store."""
        if self.ca_file is None and self.ca_pem is None and self.cert_file is None:
            return _shared_default_context(self)
        return self._build()

    def _check_files(self) -> None:
        for key, path in ((self.keys.ca, self.ca_file), (self.keys.cert, self.cert_file),
                          (self.keys.key, self.key_file)):
            if key and path is not None:
                _check_file(key, path)

    def _ca_error(self, exc: OSError | ssl.SSLError) -> SinkOptionError:
        return invalid(opt(self.keys.ca), f"cannot load CA certificates ({exc.strerror or exc})")

    def _chain_error(self, exc: OSError | ssl.SSLError) -> SinkOptionError:
        keys = " / ".join(repr(k) for k in (self.keys.cert, self.keys.key) if k)
        return SinkOptionError(
            f"invalid value for log-opt {keys}: cannot load the client certificate and "
            f"key ({exc.strerror or type(exc).__name__})")

    def _build(self) -> ssl.SSLContext:
        if self.contents is None:
            self._check_files()
            return self._load(self.ca_file, self.cert_file, self.key_file)
        with contextlib.ExitStack() as stack:  # the contents, as files OpenSSL reads alike
            ca, cert, key = (None if data is None else stack.enter_context(_memory_file(data))
                             for data in self.contents)
            return self._load(ca, cert, key)

    def _load(self, ca_file: str | None, cert_file: str | None, key_file: str | None
              ) -> ssl.SSLContext:
        ctx = _ServerNameContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.server_name = self.server_name
        try:
            if ca_file is not None:
                ctx.load_verify_locations(cafile=ca_file)
            elif self.ca_pem is not None:
                ctx.load_verify_locations(cadata=self.ca_pem)
            else:
                ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
                if not ctx.get_ca_certs():
                    ctx.load_verify_locations(cadata=_bundled_ca_der())
        except (OSError, ssl.SSLError) as exc:
            raise self._ca_error(exc) from exc
        if cert_file is not None:
            try:
                ctx.load_cert_chain(cert_file, key_file)
            except (OSError, ssl.SSLError) as exc:
                raise self._chain_error(exc) from exc
        if self.skip_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx


def _check_file(key: str, path: str) -> None:
    """A TLS file must be a regular file: a FIFO or a device would block the plugin's reads."""
    if "\0" in path:
        raise invalid(opt(key), "the path holds a NUL byte")
    try:
        st = os.stat(path)
    except OSError:
        return  # loading it reports that, naming the key
    if not stat.S_ISREG(st.st_mode):
        raise invalid(opt(key), "not a regular file")


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


@contextlib.contextmanager
def _memory_file(data: bytes) -> Iterator[str]:
    """``data`` as a path OpenSSL can open (an anonymous memfd: nothing on disk)."""
    fd = os.memfd_create("logdriver-tls", os.MFD_CLOEXEC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        yield f"/proc/self/fd/{fd}"
    finally:
        os.close(fd)


_C = TypeVar("_C")


def with_tls_files_read(config: _C) -> _C:
    """A sink config (a frozen dataclass with a ``tls: TLSOptions``) whose TLS files are read
    now, once; raises SinkOptionError naming the key."""
    tls = getattr(config, "tls", None)
    if not isinstance(tls, TLSOptions):
        return config
    return dataclasses.replace(config, tls=tls.read_files())  # type: ignore[type-var]


@functools.lru_cache(maxsize=16)
def _shared_default_context(opts: TLSOptions) -> ssl.SSLContext:
    return opts._build()
