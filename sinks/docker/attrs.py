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
    env_map: dict[str, str] = {}
    for item in env or ():
        name, sep, value = item.partition("=")
        if sep:
            env_map[name] = value
    extra = _pick(opts, LABELS, LABELS_REGEX, labels or {})
    extra.update(_pick(opts, ENV, ENV_REGEX, env_map))
    return dict(sorted(extra.items()))


def _pick(opts: Mapping[str, str], names_key: str, regex_key: str,
          source: Mapping[str, str]) -> dict[str, str]:
    """The entries of ``source`` named in the comma list at ``names_key``, then those whose
    names the Go regexp at ``regex_key`` matches (an error names ``regex_key``)."""
    picked: dict[str, str] = {}
    if opts.get(names_key):
        for name in opts[names_key].split(","):
            if name in source:
                picked[name] = source[name]
    if opts.get(regex_key):
        pattern = parse_regex(opt(regex_key), opts[regex_key])
        for name, value in source.items():
            if pattern.search(name) is not None:
                picked[name] = value
    return picked
