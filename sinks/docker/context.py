"""StartLogging's ``Info`` plus log-opts -> the fixed Context every sink encodes with."""

from __future__ import annotations

from collections.abc import Mapping

from ..util.record import Context, TagInfo
from .attrs import AttrSelectors
from .template import TAG, TagTemplate


def context_for(info: Mapping[str, object], opts: Mapping[str, str], *, hostname: str,
                tag: TagTemplate | None = None, attrs: AttrSelectors | None = None) -> Context:
    """Render ``tag`` and gather attributes for one container; raises SinkOptionError.

    ``hostname`` is the daemon host's name (``socket.gethostname()``), as moby's drivers use.
    ``tag`` and ``attrs``, when given, are those log-opts already parsed (``opts`` is then not
    read for them).
    """
    if tag is None:
        tag = TagTemplate.from_option(opts.get(TAG))
    if attrs is None:
        attrs = AttrSelectors.from_options(opts)
    tag_info = TagInfo.from_docker_info(info, hostname=hostname)
    return Context(
        container_id=tag_info.container_id,
        container_name=tag_info.container_name.removeprefix("/"),
        image_name=tag_info.image_name,
        image_id=tag_info.image_id,
        hostname=hostname,
        daemon_name=tag_info.daemon_name,
        tag=tag.render(tag_info),
        attrs=attrs.pick(tag_info.labels, tag_info.env),
        created=tag_info.created,
        info=tag_info,
    )
