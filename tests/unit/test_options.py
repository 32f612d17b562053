"""Log-opt parsing: Docker's units and defaults."""

from __future__ import annotations

import pytest

from logdriver.options import MIN_MAX_SIZE, LogConfig, LogOptions, OptionError, parse_size
from logdriver.store import DEFAULT_MAX_FILE, DEFAULT_MAX_SIZE


@pytest.mark.parametrize(("value", "decimal", "binary"), [
    ("512", 512, 512), ("20m", 20_000_000, 20 << 20), ("1.5k", 1500, 1536),
    ("2GB", 2 * 10**9, 2 << 30), ("3 MiB", 3_000_000, 3 << 20),
])
def test_sizes_follow_dockers_units(value: str, decimal: int, binary: int) -> None:
    assert parse_size("max-size", value) == decimal  # units.FromHumanSize, as `local` reads it
    assert parse_size("max-buffer-size", value, binary=True) == binary  # units.RAMInBytes


def test_defaults_are_the_local_drivers() -> None:
    cfg = LogConfig.from_options({})
    assert (cfg.store.max_size, cfg.store.max_file) == (DEFAULT_MAX_SIZE, DEFAULT_MAX_FILE)
    assert LogConfig.from_options({"max-size": "20m"}).store.max_size == 20_000_000


@pytest.mark.parametrize("value", ["", "m", "-1", "1x", "lots"])
def test_bad_sizes_name_the_option(value: str) -> None:
    with pytest.raises(OptionError, match="'max-size'"):
        LogConfig.from_options({"max-size": value})


def test_sink_keys_are_known_and_suggested() -> None:
    LogConfig.from_options({"splunk-url": "https://h:8088", "batch-size": "10"})
    with pytest.raises(OptionError, match="did you mean 'splunk-token'"):
        LogConfig.from_options({"splunk-tokn": "x"})


@pytest.mark.parametrize(("value", "size"), [
    # both go-units grammars (v0.4, as Docker 20.10.24 reads sizes; v0.5, newer) read these alike
    ("20m", 20_000_000), ("20MB", 20_000_000), ("20MiB", 20_000_000), ("20 m", 20_000_000),
    ("1.5k", 1500), ("0.1k", 100), ("100", 100), ("20b", 20), ("0", 0), ("20 ", 20),
    # v0.5 only: any Go float, a lone b
    (".5m", 500_000), ("5.m", 5_000_000), ("1e3", 1000), ("+7", 7), ("1_000", 1000),
    ("0x1p4k", 16_000), ("-0", 0),
    # v0.4 only: i and ib without a unit, i after a unit
    ("20i", 20), ("20ib", 20), ("20mi", 20_000_000),
])
def test_max_size_is_read_as_local_reads_it(value: str, size: int) -> None:
    assert parse_size("max-size", value) == size


@pytest.mark.parametrize("value", [
    "", " 20m", "20m\n", "m", "-1", "-1m", "1x", "20mbb", "20kib2", "1.2.3", "1__0", "_1",
    "1e", "0x10", "Inf", "NaN", "1e400", "1e19", "9223372036854775808", "٣m", "20 mb ",
])
def test_max_size_refuses_what_local_refuses(value: str) -> None:
    with pytest.raises(OptionError, match="'max-size'"):
        LogConfig.from_options({"max-size": value})


def test_a_tiny_max_size_is_accepted_and_kept_at_the_smallest_segment() -> None:
    assert LogConfig.from_options({"max-size": "1k"}).store.max_size == MIN_MAX_SIZE
    assert LogConfig.from_options({"max-size": "0"}).store.max_size == MIN_MAX_SIZE


@pytest.mark.parametrize(("opts", "max_file"), [
    ({"max-file": "3"}, 3), ({"max-file": "+3"}, 3), ({"max-file": "0003"}, 3),
    ({"max-file": "1", "compress": "false"}, 1), ({"max-file": "0", "compress": "false"}, 1),
    ({"max-file": "2", "compress": "true"}, 2),
])
def test_max_file_is_read_as_local_reads_it(opts: dict[str, str], max_file: int) -> None:
    assert LogConfig.from_options(opts).store.max_file == max_file


@pytest.mark.parametrize(("opts", "needle"), [
    ({"max-file": "1"}, "compress"), ({"max-file": "0"}, "compress"),
    ({"max-file": "1", "compress": "true"}, "compress"), ({"max-file": "-1"}, "negative"),
    ({"max-file": " 3"}, "whole number"), ({"max-file": "3.0"}, "whole number"),
    ({"max-file": "1_0"}, "whole number"), ({"max-file": "٣"}, "whole number"),
    ({"max-file": "9" * 5000}, "whole number"),
])
def test_max_file_refuses_what_local_refuses(opts: dict[str, str], needle: str) -> None:
    with pytest.raises(OptionError, match=f"'max-file'.*{needle}"):
        LogConfig.from_options(opts)


@pytest.mark.parametrize(("value", "size"), [("64k", 64_000), ("1e5", 100_000), ("2 kb", 2_000)])
def test_sink_sizes_are_read_as_max_size_is(value: str, size: int) -> None:
    # One set of value rules: a sink's size options are Docker's go-units sizes too.
    opts = LogOptions.from_info({"ContainerID": "a" * 64, "Config": {"http-url": "http://h/in",
                                                             "batch-bytes": value}}, {},
                                hostname="h")
    assert opts.sinks[0].batch.bytes == size


@pytest.mark.parametrize("value", ["20k\n", "٣k", " 20k", "20kbb"])
def test_sink_sizes_refuse_what_max_size_refuses(value: str) -> None:
    with pytest.raises(OptionError, match="'batch-bytes'"):
        LogOptions.from_info({"ContainerID": "a" * 64, "Config": {"http-url": "http://h/in",
                                                             "batch-bytes": value}}, {},
                             hostname="h")


def test_one_from_info_parses_each_log_opt_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """JoinConfig, LokiConfig, the tag template, each regexp and the Unicode check: once per
    LogOptions.from_info (counted at each parser)."""
    import collections

    import logdriver.options
    import sinks
    import sinks.docker.template
    import sinks.util.parse
    from sinks.util.batch import JoinConfig

    calls: collections.Counter[str] = collections.Counter()

    def count_classmethod(cls: type, name: str) -> None:
        original = getattr(cls, name).__func__

        def counted(klass: type, *args: object, **kwargs: object) -> object:
            calls[f"{cls.__name__}.{name}"] += 1
            return original(klass, *args, **kwargs)
        monkeypatch.setattr(cls, name, classmethod(counted))

    count_classmethod(JoinConfig, "from_options")
    count_classmethod(sinks.LokiConfig, "from_options")
    parse = sinks.docker.template.parse
    compile_regexp = sinks.util.parse.compile_go_regexp
    check_unicode = sinks.util.parse.check_unicode

    def counted_parse(template: str, funcs: object) -> object:
        calls[f"tag {template}"] += 1
        return parse(template, funcs)  # type: ignore[arg-type]

    def counted_compile(where: str, pattern: str) -> object:
        calls[f"regexp {where}"] += 1
        return compile_regexp(where, pattern)

    def counted_check(opts: dict[str, str]) -> None:
        calls.update(f"unicode {key}" for key in opts)
        check_unicode(opts)

    monkeypatch.setattr(sinks.docker.template, "parse", counted_parse)
    monkeypatch.setattr(sinks.util.parse, "compile_go_regexp", counted_compile)
    monkeypatch.setattr(sinks, "check_unicode", counted_check)
    monkeypatch.setattr(logdriver.options, "check_unicode", counted_check)
    opts = {"loki-url": "http://loki:3100/loki/api/v1/push", "http-url": "http://h/in",
            "tag": "{{.Name}}", "labels": "tier", "labels-regex": "^com", "env-regex": "^A",
            "multiline-pattern": "^x"}
    info = {"ContainerID": "a" * 64, "ContainerName": "/web", "Config": opts,
            "ContainerLabels": {"tier": "front", "com.x": "1"}, "ContainerEnv": ["AB=1"]}
    got = LogOptions.from_info(info, {}, hostname="h")
    assert got.context is not None and got.context.tag == "web"
    assert got.context.attrs == {"AB": "1", "com.x": "1", "tier": "front"}
    assert dict(calls) == {
        "JoinConfig.from_options": 1, "LokiConfig.from_options": 1, "tag {{.Name}}": 1,
        "regexp log-opt 'labels-regex'": 1, "regexp log-opt 'env-regex'": 1,
        "regexp log-opt 'multiline-pattern'": 1, **{f"unicode {key}": 1 for key in opts},
    }
