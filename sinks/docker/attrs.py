"""Docker's extra attributes: ``labels``, ``labels-regex``, ``env``, ``env-regex`` (moby
``logger.Info.ExtraAttributes``): later sources win on a name clash, so env beats labels."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..util.goregexp import GoRegexp
from ..util.parse import opt, parse_regex

LABELS = "labels"
LABELS_REGEX = "labels-regex"
ENV = "env"
ENV_REGEX = "env-regex"
ATTR_KEYS = frozenset({LABELS, LABELS_REGEX, ENV, ENV_REGEX})


@dataclass(frozen=True, slots=True)
class AttrSelectors:
    """The four log-opts parsed once: the names (comma list, verbatim, as moby) and the Go
    regexps (RE2 syntax, compiled only when given, as moby compiles them)."""

    labels: tuple[str, ...] = ()
    labels_regex: GoRegexp | None = None
    env: tuple[str, ...] = ()
    env_regex: GoRegexp | None = None

    @classmethod
    def from_options(cls, opts: Mapping[str, str]) -> AttrSelectors:
        """Raises SinkOptionError naming ``labels-regex`` or ``env-regex``."""
        def names(key: str) -> tuple[str, ...]:
            return tuple(opts[key].split(",")) if opts.get(key) else ()

        def regex(key: str) -> GoRegexp | None:
            return parse_regex(opt(key), opts[key]) if opts.get(key) else None

        return cls(names(LABELS), regex(LABELS_REGEX), names(ENV), regex(ENV_REGEX))

    def pick(self, labels: Mapping[str, str] | None, env: Iterable[str] | None
             ) -> dict[str, str]:
        """The attributes for one container, sorted by name (Go's JSON encoder sorts map keys);
        the regexps are unanchored searches over the names, as Go's ``MatchString``."""
        env_map: dict[str, str] = {}
        for item in env or ():
            name, sep, value = item.partition("=")
            if sep:
                env_map[name] = value
        extra = _pick(self.labels, self.labels_regex, labels or {})
        extra.update(_pick(self.env, self.env_regex, env_map))
        return dict(sorted(extra.items()))


def validate_attr_options(opts: Mapping[str, str]) -> None:
    """Compile the two regexes (moby compiles them only when there is something to match)."""
    AttrSelectors.from_options(opts)


def extra_attributes(
    opts: Mapping[str, str], labels: Mapping[str, str] | None, env: Iterable[str] | None
) -> dict[str, str]:
    """``AttrSelectors.from_options(opts).pick(labels, env)``: parse and pick in one call."""
    return AttrSelectors.from_options(opts).pick(labels, env)


def _pick(names: tuple[str, ...], pattern: GoRegexp | None,
          source: Mapping[str, str]) -> dict[str, str]:
    """The entries of ``source`` named in ``names``, then those whose names ``pattern``
    matches."""
    picked: dict[str, str] = {}
    for name in names:
        if name in source:
            picked[name] = source[name]
    if pattern is not None:
        for name, value in source.items():
            if pattern.search(name) is not None:
                picked[name] = value
    return picked
