"""Log-opt parsing: Docker's units and defaults."""

from __future__ import annotations

import pytest

from logdriver.options import LogConfig, OptionError, parse_size
from logdriver.ring import DEFAULT_MAX_FILE, DEFAULT_MAX_SIZE


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
