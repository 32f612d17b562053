"""Docker's extra attributes: ``labels``, ``labels-regex``, ``env``, ``env-regex`` (moby
``logger.Info.ExtraAttributes``): later sources win on a name clash, so env beats labels."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..util.parse import opt, parse_regex

LABELS = "labels"
LABELS_REGEX = "labels-regex"
ENV = "env"
ENV_REGEX = "env-regex"
ATTR_KEYS = frozenset({LABELS, LABELS_REGEX, ENV, ENV_REGEX})


def validate_attr_options(opts: Mapping[str, str]) -> None:
    """Compile the two regexes (moby compiles them only when there is something to match)."""
    for key in (LABELS_REGEX, ENV_REGEX):
        if opts.get(key):
            parse_regex(opt(key), opts[key])


def extra_attributes(
    opts: Mapping[str, str], labels: Mapping[str, str] | None, env: Iterable[str] | None
) -> dict[str, str]:
    """The attributes for one container, sorted by name (Go's JSON encoder sorts map keys).

    ``labels`` and ``env`` name keys comma-separated, taken verbatim (no trimming, as moby);
    the regexes are Go regexps (RE2 syntax), unanchored searches over the names, as Go's
    ``MatchString``.
    """
    validate_attr_options(opts)
    labels = labels or {}
    extra: dict[str, str] = {}
    if opts.get(LABELS):
        for name in opts[LABELS].split(","):
            if name in labels:
                extra[name] = labels[name]
    if opts.get(LABELS_REGEX):
        pattern = parse_regex(opt(LABELS_REGEX), opts[LABELS_REGEX])
        for name, value in labels.items():
            if pattern.search(name) is not None:
                extra[name] = value
    env_map: dict[str, str] = {}
    for item in env or ():
        name, sep, value = item.partition("=")
        if sep:
            env_map[name] = value
    if opts.get(ENV):
        for name in opts[ENV].split(","):
            if name in env_map:
                extra[name] = env_map[name]
    if opts.get(ENV_REGEX):
        pattern = parse_regex(opt(ENV_REGEX), opts[ENV_REGEX])
        for name, value in env_map.items():
            if pattern.search(name) is not None:
                extra[name] = value
    return dict(sorted(extra.items()))
