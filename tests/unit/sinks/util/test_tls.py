"""TLS options -> SSLContext: trust, client certificates, server name, skip-verify, proxies.

Handshakes run in memory (ssl.MemoryBIO), no sockets; certificates come from the openssl CLI.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
from yarl import URL

from sinks.splunk.config import SPLUNK_TLS_KEYS
from sinks.util.client import AiohttpClient, build_client
from sinks.util.errors import SinkOptionError
from sinks.util.tls import TLSKeys, TLSOptions

KEYS = TLSKeys.with_prefix("http")
pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=test-ca", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign", cwd=d)
    for name, ext in (("server", "subjectAltName=DNS:hec.internal"),
                      ("client", "extendedKeyUsage=clientAuth")):
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={name}", cwd=d)
        (d / f"{name}.ext").write_text(ext + "\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.pem", "-days", "2",
                "-extfile", f"{name}.ext", cwd=d)
    return d


def server_context(pki: Path, *, require_client: bool = False) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki / "server.pem", pki / "server.key")
    if require_client:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(pki / "ca.pem")
    return ctx


def handshake(client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext, host: str) -> str | None:
    """Run a TLS handshake in memory; returns the SNI the server saw."""
    seen: list[str | None] = []
    server_ctx.sni_callback = lambda obj, name, ctx: seen.append(name)  # type: ignore[assignment]
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=host)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(20):
        for name, obj in (("client", client), ("server", server)):
            if not done[name]:
                try:
                    obj.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            try:  # TLS 1.3: the server checks the client certificate after its handshake
                server.read(1)
            except ssl.SSLWantReadError:
                pass
            return seen[0] if seen else None
    raise AssertionError("handshake did not finish")


def test_custom_ca_file_trusts_the_server(pki: Path) -> None:
    tls = TLSOptions.from_options({"http-tls-ca": str(pki / "ca.pem")}, KEYS)
    assert handshake(tls.ssl_context(), server_context(pki), "hec.internal") == "hec.internal"


def test_inline_pem_ca(pki: Path) -> None:
    tls = TLSOptions.from_options({"http-tls-ca": (pki / "ca.pem").read_text()}, KEYS)
    assert tls.ca_pem is not None and tls.ca_file is None
    handshake(tls.ssl_context(), server_context(pki), "hec.internal")
    assert "BEGIN" not in repr(tls)


def test_wrong_host_name_fails_then_server_name_fixes_it(pki: Path) -> None:
    tls = TLSOptions.from_options({"http-tls-ca": str(pki / "ca.pem")}, KEYS)
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(tls.ssl_context(), server_context(pki), "10.0.0.7")
    tls = TLSOptions.from_options({"http-tls-ca": str(pki / "ca.pem"),
                                   "http-tls-server-name": "hec.internal"}, KEYS)
    assert handshake(tls.ssl_context(), server_context(pki), "10.0.0.7") == "hec.internal"


def test_splunk_uses_dockers_option_names(pki: Path) -> None:
    tls = TLSOptions.from_options({"splunk-capath": str(pki / "ca.pem"),
                                   "splunk-caname": "hec.internal"}, SPLUNK_TLS_KEYS)
    handshake(tls.ssl_context(), server_context(pki), "splunk.example")


def test_untrusted_server_fails_unless_skip_verify(pki: Path) -> None:
    tls = TLSOptions.from_options({}, KEYS)  # system/bundled roots: our test CA is not there
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(tls.ssl_context(), server_context(pki), "hec.internal")
    tls = TLSOptions.from_options({"http-tls-skip-verify": "true"}, KEYS)
    handshake(tls.ssl_context(), server_context(pki), "anything")


def test_client_certificate(pki: Path) -> None:
    base = {"http-tls-ca": str(pki / "ca.pem")}
    with pytest.raises(ssl.SSLError):
        handshake(TLSOptions.from_options(base, KEYS).ssl_context(),
                  server_context(pki, require_client=True), "hec.internal")
    tls = TLSOptions.from_options({**base, "http-tls-cert": str(pki / "client.pem"),
                                   "http-tls-key": str(pki / "client.key")}, KEYS)
    handshake(tls.ssl_context(), server_context(pki, require_client=True), "hec.internal")


def test_unreadable_files_are_reported_at_create_naming_the_key(tmp_path: Path) -> None:
    tls = TLSOptions.from_options({"http-tls-ca": str(tmp_path / "missing.pem")}, KEYS)
    with pytest.raises(SinkOptionError, match="'http-tls-ca'"):
        tls.ssl_context()
    tls = TLSOptions.from_options({"http-tls-cert": str(tmp_path / "c.pem")}, KEYS)
    with pytest.raises(SinkOptionError, match="'http-tls-cert' / 'http-tls-key'"):
        build_client(tls, transport=httpx.MockTransport(lambda r: httpx.Response(200)))


async def test_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "hec.local")
    client = build_client(TLSOptions.from_options({}, KEYS))
    try:
        assert isinstance(client, AiohttpClient)
        _, proxied = client.target("https://http-intake.logs.datadoghq.com/api/v2/logs")
        assert proxied == URL("http://proxy.internal:3128")
        assert client.target("https://hec.local:8088/services/collector")[1] is None
        assert client.target("http://plain.example/")[1] is None  # no HTTP_PROXY set
    finally:
        await client.aclose()


def test_sinks_with_the_system_cas_share_one_context() -> None:
    # Each context holds the whole CA store (about 1 MB): hundreds of containers must not
    # each build one. Settings that differ get their own.
    keys = TLSKeys.with_prefix("http")
    a = TLSOptions.from_options({}, keys).ssl_context()
    assert TLSOptions.from_options({}, keys).ssl_context() is a
    skip = TLSOptions.from_options({"http-tls-skip-verify": "true"}, keys).ssl_context()
    assert skip is not a and skip.verify_mode == ssl.CERT_NONE
    assert a.verify_mode == ssl.CERT_REQUIRED


@pytest.mark.parametrize("path", ["fifo", "/dev/zero", "with\0nul"])
def test_a_tls_file_that_is_not_a_regular_file_is_refused_naming_the_key(
    tmp_path: Path, path: str
) -> None:
    import os

    if path == "fifo":
        path = str(tmp_path / "fifo")
        os.mkfifo(path)  # reading it would block the plugin until a writer came
    opts = TLSOptions.from_options({"splunk-capath": path}, SPLUNK_TLS_KEYS)
    with pytest.raises(SinkOptionError, match="splunk-capath"):
        opts.ssl_context()


def test_files_read_once_are_all_a_client_needs(pki: Path, tmp_path: Path) -> None:
    # The plugin reads them at StartLogging; the shipper process builds its client from what
    # was read (pickled in the attach message), so the files are read once.
    import pickle

    names = {"http-tls-ca": "ca.pem", "http-tls-cert": "client.pem", "http-tls-key": "client.key"}
    opts = {key: str(shutil.copy(pki / name, tmp_path / name)) for key, name in names.items()}
    tls = TLSOptions.from_options(opts, KEYS).read_files()
    for name in names.values():
        (tmp_path / name).unlink()
    assert "BEGIN" not in repr(tls)  # the contents (a private key among them) never in a repr
    again = pickle.loads(pickle.dumps(tls))
    assert handshake(again.ssl_context(), server_context(pki, require_client=True),
                     "hec.internal") == "hec.internal"
    with pytest.raises(SinkOptionError, match="'http-tls-ca'"):
        TLSOptions.from_options(opts, KEYS).read_files()  # gone: named as at create


async def test_a_real_request_uses_ca_server_name_and_client_certificate(pki: Path) -> None:
    # The network client (aiohttp) dials 127.0.0.1, verifies the certificate as hec.internal
    # and presents the client certificate the server requires.
    from aiohttp import web

    from sinks.util.answer import Answer
    from sinks.util.client import Exchange, Reply

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/in", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0,
                       ssl_context=server_context(pki, require_client=True))
    await site.start()
    url = f"https://127.0.0.1:{runner.addresses[0][1]}/in"
    base = {"http-tls-ca": str(pki / "ca.pem"), "http-tls-cert": str(pki / "client.pem"),
            "http-tls-key": str(pki / "client.key")}
    try:
        for opts, good in ((base, False), ({**base, "http-tls-server-name": "hec.internal"}, True)):
            ex = Exchange(build_client(TLSOptions.from_options(opts, KEYS)), [])
            try:
                reply = await ex.request("POST", url, content=b"x")
            finally:
                await ex.aclose()
            if good:
                assert isinstance(reply, Reply) and reply.body == b"ok"
            else:  # 127.0.0.1 is not in the certificate
                assert isinstance(reply, Answer) and "certificate" in reply.reason.lower()
    finally:
        await runner.cleanup()
