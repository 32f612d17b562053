"""Proxies from the environment: which URLs go through which proxy, NO_PROXY as httpx (after
curl) read it, CIDR as Go reads it; unsupported proxy schemes refused without quoting them."""

from __future__ import annotations

import pytest
from yarl import URL

from sinks.util.errors import SinkOptionError
from sinks.util.proxy import Proxies

HTTP, HTTPS = "http://proxy:3128", "http://tls-proxy:3128"


def proxies(monkeypatch: pytest.MonkeyPatch, no_proxy: str, **env: str) -> Proxies:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy",
                 "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", HTTP)
    monkeypatch.setenv("HTTPS_PROXY", HTTPS)
    monkeypatch.setenv("NO_PROXY", no_proxy)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Proxies.from_environment()


@pytest.mark.parametrize(("no_proxy", "url", "expected"), [
    ("", "http://hec.example/", HTTP),
    ("", "https://hec.example/", HTTPS),
    ("example.com", "https://example.com/", None),
    ("example.com", "https://www.example.com:8088/", None),
    ("example.com", "https://wwwexample.com/", HTTPS),
    (".example.com", "https://example.com/", HTTPS),
    (".example.com", "https://a.example.com/", None),
    ("*.example.com", "https://a.example.com/", None),
    ("EXAMPLE.com", "https://Example.COM/", None),
    ("10.1.2.3", "https://10.1.2.3:8088/", None),
    ("10.1.2.3", "https://10.1.2.30/", HTTPS),
    ("10.0.0.0/8", "https://10.200.0.1/", None),
    ("10.0.0.0/8", "https://11.0.0.1/", HTTPS),
    ("::1", "https://[::1]:8088/", None),
    ("localhost", "http://localhost:8088/", None),
    ("example.com:8088", "https://example.com:8088/", None),
    ("example.com:8088", "https://example.com:9000/", HTTPS),
    ("other, example.com ,more", "https://example.com/", None),
    ("https://example.com", "http://example.com/", HTTP),
    ("https://example.com", "https://example.com/", None),
    ("a.com,*", "https://anything/", None),
])
def test_no_proxy(monkeypatch: pytest.MonkeyPatch, no_proxy: str, url: str,
                  expected: str | None) -> None:
    chosen = proxies(monkeypatch, no_proxy).for_url(URL(url))
    assert chosen == (None if expected is None else URL(expected))


def test_all_proxy_and_bare_host_port(monkeypatch: pytest.MonkeyPatch) -> None:
    proxies(monkeypatch, "", ALL_PROXY="fallback:8080")
    monkeypatch.delenv("HTTPS_PROXY")
    p = Proxies.from_environment()
    assert p.for_url(URL("https://x/")) == URL("http://fallback:8080")
    assert p.for_url(URL("http://x/")) == URL(HTTP)


def test_fixed_proxy_takes_every_url() -> None:
    p = Proxies.fixed("https://u:p@proxy:443", "log-opt 'loki-proxy-url'")
    assert p.for_url(URL("http://a/")) == p.for_url(URL("https://b/")) == URL(
        "https://u:p@proxy:443")


def test_unsupported_scheme_is_refused_without_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SinkOptionError, match="socks5:// proxy is not supported") as err:
        proxies(monkeypatch, "", HTTPS_PROXY="socks5://user:hunter2@proxy:1080")
    assert "hunter2" not in str(err.value)
