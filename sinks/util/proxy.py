"""Which proxy a sink's request goes through: HTTP_PROXY/HTTPS_PROXY/ALL_PROXY and NO_PROXY, read
once, chosen as httpx's ``trust_env`` chose them (its ``get_environment_proxies``, after curl)."""

from __future__ import annotations

import base64
import ipaddress
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

from yarl import URL

from .errors import SinkOptionError

PROXY_SCHEMES = frozenset({"http", "https"})  # what aiohttp can dial (no SOCKS)


@dataclass(frozen=True, slots=True)
class NoProxy:
    """One NO_PROXY entry. ``host`` is matched whole (IP, ``localhost``), as the domain or any
    subdomain (``example.com``), or as a subdomain only (``.example.com``); ``network`` (CIDR,
    ``10.0.0.0/8``, as Go reads it) holds IP hosts; ``port`` None is any port, ``scheme`` None
    any scheme."""

    host: str
    port: int | None = None
    scheme: str | None = None
    subdomains_only: bool = False
    exact: bool = False
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None

    @classmethod
    def parse(cls, entry: str) -> NoProxy:
        scheme = None
        if "://" in entry:
            scheme, _, entry = entry.partition("://")
        host, port = entry, None
        if host.startswith("[") and "]" in host:  # [::1]:8080
            host, _, rest = host[1:].partition("]")
            port = _port(rest[1:]) if rest.startswith(":") else None
        elif host.count(":") == 1:
            name, _, digits = host.partition(":")
            if digits.isdigit():
                host, port = name, int(digits)
        host = host.lower()
        if "/" in host:
            try:
                return cls(host, port, scheme, network=ipaddress.ip_network(host, strict=False))
            except ValueError:
                pass
        exact = _is_ip(host) or host == "localhost"
        if host.startswith("*."):
            host = host[1:]
        if host.startswith("*"):
            host = host[1:]
        return cls(host.lstrip("."), port, scheme, host.startswith("."), exact)

    def matches(self, url: URL) -> bool:
        host = (url.host or "").lower()
        if self.scheme is not None and self.scheme != url.scheme:
            return False
        if self.port is not None and self.port != url.port:
            return False
        if self.network is not None:
            return _ip_in(host, self.network)
        if self.exact or host == self.host:
            return host == self.host and not self.subdomains_only
        return host.endswith("." + self.host)


@dataclass(frozen=True, slots=True)
class Proxies:
    """Proxy URLs by target scheme (``all`` for any) and the NO_PROXY entries; bypass_all for
    ``NO_PROXY=*``."""

    by_scheme: Mapping[str, URL]
    no_proxy: tuple[NoProxy, ...] = ()
    bypass_all: bool = False

    @classmethod
    def from_environment(cls) -> Proxies:
        """The process environment's, as ``urllib.request.getproxies()`` reads them (a lower-case
        name wins over its upper-case twin). Raises SinkOptionError for a scheme aiohttp cannot
        dial (the value, which may hold a password, is not quoted)."""
        found = urllib.request.getproxies()
        by_scheme: dict[str, URL] = {}
        for scheme in ("http", "https", "all"):
            value = found.get(scheme)
            if value:
                by_scheme[scheme] = proxy_url(value, f"{scheme.upper()}_PROXY")
        entries = [e.strip() for e in found.get("no", "").split(",")]
        if "*" in entries:
            return cls({}, (), True)
        return cls(by_scheme, tuple(NoProxy.parse(e) for e in entries if e))

    @classmethod
    def fixed(cls, value: str, name: str) -> Proxies:
        """Every request through ``value`` (a sink's own proxy option, named ``name``)."""
        return cls({"all": proxy_url(value, name)})

    def secrets(self) -> tuple[str, ...]:
        """The proxies' passwords, as given and percent-decoded, and each proxy's Basic
        credential (base64 of "user:password", what Proxy-Authorization carries): an error
        quoting a proxy URL, or a proxy echoing the request's head, must not show them."""
        basic = tuple(base64.b64encode(f"{url.user or ''}:{url.password}".encode("latin-1",
                                                                             "replace")).decode()
                      for url in self.by_scheme.values() if url.password)
        return tuple(p for url in self.by_scheme.values()
                     for p in (url.raw_password, url.password) if p) + basic

    def for_url(self, url: URL) -> URL | None:
        if self.bypass_all or not self.by_scheme:
            return None
        proxy = self.by_scheme.get(url.scheme) or self.by_scheme.get("all")
        if proxy is None or any(entry.matches(url) for entry in self.no_proxy):
            return None
        return proxy


def proxy_url(value: str, name: str) -> URL:
    """A proxy value as a URL (``host:port`` alone means ``http://``, as httpx and curl read it)."""
    url = URL(value if "://" in value else f"http://{value}")
    if url.scheme not in PROXY_SCHEMES or not url.host:
        raise SinkOptionError(f"{name}: a {url.scheme}:// proxy is not supported "
                              "(give http:// or https://host:port)")
    return url


def _port(digits: str) -> int | None:
    return int(digits) if digits.isdigit() else None


def _ip_in(host: str, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        return ipaddress.ip_address(host) in network
    except ValueError:
        return False


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
