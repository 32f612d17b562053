"""`tag` templates and the labels/env attributes, compared byte for byte with Docker's own `splunk`
log driver on the real dockerd.

Each case starts one short-lived container with Docker's `splunk` driver and one with the plugin,
both pointed at the same fake HEC, with the same labels, environment and log-opts. Either both
refuse to start the container (a template Go refuses, a regex Go refuses), or the `tag` and
`attrs` of their events are the same. What differs between two containers by nature (their IDs,
names and creation times) is replaced in both by a placeholder before comparing; the raw values
come from `docker inspect`, not from the plugin's code. The containers of a table run
concurrently, a few at a time, so the whole table takes seconds per hundred cases.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.hec import FakeHec

from .helpers import Docker, unique_name

TOKEN = "e2e-tag-token-0123"
PARALLEL = 8
LABELS = {"production_status": "testing", "com.example.tier": "web", "com.example.x1": "no",
          "Team": "Core"}
# One variable for the templates: Docker orders ContainerEnv differently from one container to
# the next; the attribute cases need several.
TEMPLATE_ENV = {"os": "linux"}
ENV = {"os": "linux", "HTTP_PROXY": "p", "lower": "l", "MixedCase": "m", "EMPTY": ""}
BASE_OPTS = {"labels": "production_status", "env": "os"}

# The two samples of issue #14, then the language, Go's builtins, Docker's functions, every
# field and method of logger.Info. They run CHUNK to a container, joined by " ¦ ".
CHUNK = 6
TEMPLATES = [
    "{{ (.ExtraAttributes nil).production_status }}--{{ (.ExtraAttributes nil).os }}",
    "{{if .ContainerLabels.environment}}env={{.ContainerLabels.environment}}{{else}}none{{end}}",
    # logger.Info: methods and fields
    "{{.ID}}|{{.FullID}}|{{.Name}}|{{.ImageID}}|{{.ImageFullID}}|{{.ImageName}}",
    "{{.Command}}|{{.Hostname}}|{{.DaemonName}}|{{.LogPath}}|{{.ContainerEntrypoint}}"
    "|{{.ContainerArgs}}",
    "{{.ContainerID}}|{{.ContainerName}}|{{.ContainerImageID}}|{{.ContainerImageName}}",
    "{{.ContainerLabels}}|{{.ContainerEnv}}",
    "{{.Config}}",
    "{{.}}",
    "{{json .}}",
    "{{printf \"%v|%+v|%s\" . .ContainerLabels .ContainerArgs}}",
    "{{(.ExtraAttributes nil)}}|{{json (.ExtraAttributes nil)}}",
    # ContainerCreated, a Go time.Time
    "{{.ContainerCreated}}",
    "{{json .ContainerCreated}}",
    "{{.ContainerCreated.Year}}-{{.ContainerCreated.Month}}-{{printf \"%02d\" "
    ".ContainerCreated.Day}} {{.ContainerCreated.Weekday}} {{.ContainerCreated.YearDay}} "
    "{{.ContainerCreated.Location}} {{printf \"%d\" .ContainerCreated.Month}}",
    "{{.ContainerCreated.Format \"Mon Jan _2 2006 15h MST -07:00 Z07:00 pm 06 1/2 __2\"}}",
    "{{.ContainerCreated.Format \"2006-01-02T15:04:05.000000000Z07:00\" | len}} "
    "{{gt .ContainerCreated.Unix 1600000000}} {{.ContainerCreated.IsZero}} "
    "{{.ContainerCreated.UTC.Year}} {{.ContainerCreated.Local.Year}} "
    "{{lt .ContainerCreated.Nanosecond 1000000000}}",
    "{{.ContainerCreated.Sub .ContainerCreated}} {{(.ContainerCreated.AddDate 1 0 0).Year}}"
    " {{.ContainerCreated.Equal .ContainerCreated}} {{.ContainerCreated.Truncate 1000000000 | "
    "json | len}} {{.ContainerCreated.Round 1000000000 | json | len}}",
    # actions, variables, pipelines
    "{{range $k, $v := .ContainerLabels}}{{$k}}={{$v}};{{end}}",
    "{{range $i, $e := .ContainerArgs}}[{{$i}}:{{$e}}]{{else}}empty{{end}}",
    "{{range .ContainerEnv}}{{if eq (index (split . \"=\") 0) \"os\"}}{{.}}{{end}}{{end}}",
    "{{range $v := .ContainerLabels}}{{$v}},{{end}}|{{range .Config}}{{end}}done",
    "{{with .ContainerLabels.production_status}}{{.}}{{else}}no{{end}}|"
    "{{with .ContainerLabels.nope}}{{.}}{{else}}no{{end}}",
    "{{$n := .Name}}{{$n = printf \"%s!\" $n}}{{$n}}-{{$.ID}}",
    "{{with $x := \"a\"}}{{$x}}{{$x = \"b\"}}{{$x}}{{end}}",
    "{{- /* comment */ -}}  {{ .ID -}}  x  {{- \"y\" }} {{/* c */}}z",
    "{{if and .Name (not .ContainerLabels.nope)}}a{{else if .ID}}b{{else}}c{{end}}",
    "{{if .ContainerLabels.nope}}a{{else if .ContainerLabels.Team}}b{{end}}",
    "{{define \"T\"}}<{{.}}>{{end}}{{template \"T\" .Name}}{{template \"T\"}}|"
    "{{block \"B\" .ID}}[{{.}}]{{end}}",
    "{{range $i, $e := .ContainerArgs}}{{if $i}}{{break}}{{end}}{{$e}}{{end}}|"
    "{{range .ContainerArgs}}{{continue}}x{{end}}",
    "{{.Name | printf \"%s-%s\" \"pre\"}}|{{\"x\" | printf \"%s%s\" \"y\"}}|"
    "{{.ContainerArgs | len}}",
    "{{.ContainerLabels.nope.foo}}|{{(index .ContainerArgs 0)}}",
    # literals
    "{{\"a\\tb\\u00e9\\x41\\101\"}}|{{`raw\\n`}}|{{'a'}} {{'\\n'}} {{0x1F}} {{0o17}} {{0b101}} "
    "{{017}} {{1_000}} {{1e3}} {{1.5}} {{-2}} {{+3}} {{.5}} {{1i}} {{true}} {{false}}",
    "{{0x1p-2}} {{1e100}} {{123456789.0}} {{0.000001}} {{1e-7}}",
    # Go's builtins
    "{{print 1 2 \"a\" \"b\" 3 nil true}}|{{println \"x\" 1}}|{{print}}",
    "{{printf \"%5.2f|%-4d|%+d|%x|%X|%o|%b|%c|%U|%q|%v|%T|%t|%e|%g|%8.3s|%%|%05d|%x|% x|%#x\" "
    "3.14159 7 7 255 255 8 5 65 65 \"hi\" .ContainerArgs .ContainerLabels true 1234.5678 "
    "0.000001 \"abcdef\" -42 \"hi\" \"hi\" 255}}",
    "{{printf \"%d %s\" \"x\" 3}}|{{printf \"%d\"}}|{{printf \"x\" 1 \"y\"}}|{{printf \"%\"}}|"
    "{{printf \"%[2]d %[1]d\" 1 2}}|{{printf \"%z\" 1}}|{{printf \"%s\" nil}}|"
    "{{printf \"%v %d\" .ContainerLabels.nope .ContainerArgs}}",
    "{{printf \"%*d|%-*d|%.*s|%6.2v|%q|%+q|%#q\" 5 1 4 2 2 \"abc\" 3.14159 \"é\\n\" \"é\" \"x\"}}",
    "{{printf \"%+v|%+v|%+v|%+5v|%-+5v|%+.3v\" 5 3.5 1e21 7 7 2}}",
    "{{html \"<a href='x'>&\\\"</a>\"}}|{{js \"a'b\\\"c<d>e&f=g\\\\h\\n\\u00e9\"}}|"
    "{{urlquery \"a b&c=d/é~\"}}|{{html .ContainerLabels.nope}}|{{html 1 2}}|{{urlquery}}",
    "{{and 1 0 \"x\"}}|{{and 1 \"x\"}}|{{or 0 \"\" \"y\"}}|{{or 0 \"\"}}|{{not \"\"}}|"
    "{{not .Name}}|{{and .ContainerLabels.nope .Nope}}|{{or .Name .Nope}}",
    "{{eq 1 1}} {{eq \"a\" \"b\" \"a\"}} {{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt \"b\" \"a\"}} "
    "{{ge 1.5 2.5}} {{eq true true}} {{lt \"B\" \"a\"}}",
    "{{eq .ContainerLabels.nope \"x\"}}",
    "{{eq .ContainerLabels.Team \"Core\"}}",
    "{{len .Name}} {{len .ContainerArgs}} {{len .ContainerLabels}} {{index .ContainerArgs 0}} "
    "{{index .ContainerLabels \"production_status\"}}|{{index .ContainerLabels \"nope\"}}|"
    "{{index \"abc\" 1}}",
    "{{slice .Name 0 3}} {{slice .ContainerArgs 1}} {{slice \"abcdef\" 1 3}} {{slice \"ab\"}}",
    # Docker's functions
    "{{json .ContainerLabels}} {{json .ContainerArgs}} {{json .Name}} {{json 1.5}} "
    "{{json \"<&>\\u2028\"}} {{json .ContainerLabels.nope}} {{json 1e21}} {{json 1i}}",
    "{{split \"a,b,,c\" \",\"}} {{join (split .ImageName \":\") \"+\"}} "
    "{{title \"hello wORLD-foo_bar x.y\"}} {{lower \"ÀB\"}} {{upper \"straße\"}} "
    "{{pad \"x\" 2 3}}|{{pad \"\" 2 3}}|{{truncate \"abcdef\" 3}} {{truncate \"ab\" 5}} "
    "{{split \"é\" \"\"}}",
    "{{truncate \"é\" 1 | len}}",
    # more of Go's corners
    "{{printf \"%v\" .}}|{{print .}}|{{html .}}",
    "{{.ContainerCreated.Location.String}} {{.ContainerCreated.Month.String}} "
    "{{.ContainerCreated.Month | printf \"%s|%v|%d|%q\"}} {{eq .ContainerCreated.Month 11}} "
    # (%s of a time.Time is its String(); its length varies with the trailing zeros of each
    # container's own creation time, so cut it to the seconds before comparing lengths)
    "{{printf \"%.19s\" .ContainerCreated | len}}",
    "{{printf \"%q|%x|%08.3f|% d|%#o|%#b|%O|%c|%.0d|%6.2q|%-8v|\" 'a' -255 -3.14159 5 8 5 8 "
    "0x1F600 0 \"abc\" .ContainerArgs}}",
    "{{printf \"%t|%e|%g|%v|%.3v|%5t|%-5t|%x|%X|% x\" 1 0.0 1e21 1e21 \"abcdef\" true false "
    "\"é\" 3.5 \"ab\"}}",
    "{{js \"\u2028\\x01\"}}|{{urlquery \"é\" 1}}|{{print \"a\" 1 2 \"b\"}}|{{not nil}}|"
    "{{or nil 1}}|{{and 0 nil}}",
    "{{\"abc\" | len}} {{3 | printf \"%d\"}} {{.Name | eq \"x\"}} {{$}} {{$.Config.env}}",
    "{{-3}} {{- -3 -}} x {{.ContainerLabels.Team | len | printf \"%03d\"}}",
    "{{with $x := .ContainerArgs}}{{index $x 0}}{{end}} {{if eq (len .ContainerArgs) 2}}two{{end}}"
    " {{printf \"%s\" (.ExtraAttributes nil)}} {{.ExtraAttributes nil | len}}",
    "{{'\\''}} {{'\\x41'}} {{'\\u00e9'}} {{'é'}} {{$é := 1}}{{$é}} {{0x1.8p1}} "
    "{{printf \"%v\" 'a'}}",
    "{{1e6}} {{100000.0}} {{-0.0}} {{3.0}} {{1+2i}} {{0i}} {{1e-5}} {{12345678.9}}",
    "{{.ContainerCreated.In .ContainerCreated.Location}} {{.ContainerCreated.Before "
    ".ContainerCreated}} {{.ContainerCreated.After .ContainerCreated}}",
    "{{printf \"%v|%+v\" .ContainerCreated .ContainerLabels}} {{.ContainerCreated.UTC}}",
    "{{range $i, $e := .Config}}{{$i}}{{end}}|{{range $k, $v := (.ExtraAttributes nil)}}"
    "{{$k}}{{end}}",
    "{{len (print .ContainerCreated.UnixMilli .ContainerCreated.UnixMicro)}} "
    "{{(.ContainerCreated.Sub .ContainerCreated).Seconds}} {{.ContainerCreated.IsDST}}",
    # types as printf sees them, bad verbs, nil
    "{{printf \"%s|%d|%d|%s|%v|%d|%s\" 1.5 1.5 true true nil nil .ContainerLabels.nope}}",
    "{{printf \"%5.1q|%x|%q|%T %T %T %T %T %T %T %T %T\" \"abc\" (split \"ab c\" \" \") "
    ".ContainerArgs "
    ".ContainerCreated . .ContainerCreated.Month 'a' 1.0 1i (index \"abc\" 1) "
    ".ContainerCreated.Unix (.ContainerCreated.Sub .ContainerCreated)}}",
    "{{printf \"%v %c %v %d\" (index \"abc\" 1) (index \"abc\" 1) "
    "(.ContainerCreated.Sub .ContainerCreated) (.ContainerCreated.Sub .ContainerCreated)}} "
    "{{lt (.ContainerCreated.Add -1).Nanosecond 1000000000}} "
    "{{printf \"%v\" .ContainerCreated.Location}}",
    "{{eq .ContainerCreated .ContainerCreated}} {{eq . .}} {{lt .ContainerCreated.Month 12}} "
    "{{index .ContainerArgs 0 1}} {{slice .Name 1 | len}} {{with .ContainerCreated}}{{.Year}}"
    "{{end}} {{if .ContainerCreated.IsZero}}z{{else}}nz{{end}}",
    "{{$x := .ContainerLabels}}{{$x.Team}} {{$.ContainerLabels.Team}} {{(.ContainerLabels).Team}}"
    " {{(.ExtraAttributes nil).nope}} {{.Hostname | len | lt 0}} {{print .ContainerArgs "
    ".ContainerLabels}}",
    # invalid UTF-8 and Unicode case mapping, as Go's strings package does it
    "{{\"\\xff\"}} {{slice \"é\" 1}} {{printf \"%x\" \"\\xff\"}} {{len \"\\xff\"}} "
    "{{html \"\\xff<\"}} {{js \"\\xff\"}} {{urlquery \"\\xff\"}} {{upper \"a\\xffb\"}} "
    "{{title \"\\xffa\"}}",
    "{{lower \"ǅ\"}} {{upper \"ǅ\"}} {{title \"ǆ\"}} {{upper \"ﬃß\"}} {{lower \"İ\"}} "
    "{{upper \"ᾀ\"}} {{lower \"ΑΣ\"}} {{upper \"ŉǰ\"}} {{title \"élan vital\"}}",
]

# Templates Go refuses, at parse or at execution: both must refuse the container.
REFUSED = [
    "{{.Nope}}",
    "{{nil}}",
    "{{foo}}",
    "{{if}}{{end}}",
    "{{end}}",
    "{{.ExtraAttributes}}",
    "{{pad .Name \"1\" 2}}",
    "{{9223372036854775808}}",
    "{{(.Name}}",
    "{{.Name 1}}",
    "{{index .ContainerArgs 9}}",
    "{{\"x\" | \"y\"}}",
    "{{break}}",
    "{{range .Name}}{{end}}",
    "{{template \"nope\"}}",
    "{{$x}}",
    "{{.ID | truncate 3}}",
    "{{truncate .Name -1}}",
    "{{lt 1 \"a\"}}",
    "{{len 3}}",
    "{{/* unclosed }}",
    "{{\"\\z\"}}",
    "{{'ab'}}",
    "{{08}}",
    "{{.ContainerLabels.production_status.foo}}",
    "{{printf 1}}",
    "{{json}}",
    "{{.ContainerCreated.Foo}}",
    "{{.ContainerCreated.Zone}}",
    "{{.ContainerCreated.Format}}",
    "{{.ContainerCreated.Format 1}}",
    "{{if 1}}{{else}}{{else}}{{end}}",
    "{{range $a, $b, $c := .ContainerArgs}}{{end}}",
    "{{(1).X}}",
    "{{\"unterminated}}",
    "{{.ID}",
    "{{and}}",
    "{{index nil 1}}",
    "{{len nil}}",
    "{{\"a\" \"b\"}}",
    "{{range $i, $c := \"abc\"}}{{end}}",
    "{{call .ExtraAttributes nil}}",
    "{{call nil}}",
    "{{1e}}",
    "{{0x}}",
    "{{1_}}",
    "{{index .ContainerLabels 1}}",
    "{{printf \"%d\" .ContainerCreated.Foo}}",
    "{{.ContainerCreated.Format \"x\" \"y\"}}",
    "{{template \"T\" | }}",
    "{{define \"T\"}}{{end}}{{define \"T\"}}x{{end}}{{template \"T\" 1 2}}",
    "{{ne .ContainerLabels .ContainerLabels}}",
    "{{len .ContainerCreated}}",
    "{{range .ContainerCreated}}{{end}}",
    "{{.ContainerLabels.Team.x}}",
    "{{printf \"%s\" .ExtraAttributes}}",
    "{{.ExtraAttributes nil nil}}",
]

# labels / labels-regex / env / env-regex: the attrs of each event (Go's regexp syntax, RE2)
ATTR_CASES: list[dict[str, str]] = [
    {"labels": "production_status,Team", "env": "os,lower"},
    {"labels": "production_status", "labels-regex": r"^com\.example\.[[:alpha:]]+$",
     "env-regex": r"^[[:upper:]_]+\z"},
    {"labels": "x", "labels-regex": r"(?i)^team$", "env-regex": r"(?i)^mixed"},
    {"labels": "x", "labels-regex": r"example\.\pL+\d", "env-regex": r"^[^[:lower:]]"},
    {"labels": "x", "env-regex": r"^\QHTTP_\E"},
    {"labels-regex": "^Team$"},  # without `labels` (moby once skipped labels-regex then)
    {"labels": "x", "labels-regex": r"(a)\1"},
    {"labels": "x", "env-regex": r"^(?=os)"},
    {"labels": "x", "env-regex": r"^\Z"},
    {"labels": "x", "env-regex": "["},
    {"labels-regex": "("},
]


@dataclass
class Run:
    case: int
    driver: str
    name: str
    opts: dict[str, str]
    env: Mapping[str, str]
    refused: str | None = None  # docker run's error output
    inspect: dict[str, Any] = field(default_factory=dict)


def _start(docker: Docker, run: Run) -> None:
    args = ["run", "-d", "--network", "none", "--name", run.name, "--log-driver", run.driver]
    for key, value in LABELS.items():
        args += ["--label", f"{key}={value}"]
    for key, value in run.env.items():
        args += ["-e", f"{key}={value}"]
    for key, value in run.opts.items():
        args += ["--log-opt", f"{key}={value}"]
    args += [docker.image, "sh", "-c", f"echo {run.name}"]
    cp = docker(*args, check=False, timeout=120)
    if cp.returncode != 0:
        run.refused = (cp.stderr or cp.stdout).decode(errors="replace").strip()
        return
    docker.wait(run.name, timeout=60)
    run.inspect = docker.inspect(run.name)


def run_cases(docker: Docker, hec: FakeHec, ours: str, cases: list[Mapping[str, str]],
              env: Mapping[str, str] = TEMPLATE_ENV) -> list[tuple[Run, Run]]:
    """Each case's log-opts with Docker's splunk driver and with the plugin."""
    common = {"splunk-url": hec.url, "splunk-token": TOKEN, "splunk-insecureskipverify": "true"}
    pairs = [
        (Run(n, "splunk", unique_name(f"tpl{n}d"), {**common, **case}, env),
         Run(n, ours, unique_name(f"tpl{n}o"), {**common, **case}, env))
        for n, case in enumerate(cases)
    ]
    runs = [r for pair in pairs for r in pair]
    try:
        with ThreadPoolExecutor(PARALLEL) as pool:
            list(pool.map(lambda r: _start(docker, r), runs))
        started = [r for r in runs if r.refused is None]
        hec.wait_for(lambda: {e["event"]["line"] for e in hec.events}
                     >= {r.name for r in started}, timeout=60,
                     what=f"one event from each of {len(started)} containers")
    finally:
        docker("rm", "-f", *[r.name for r in runs], check=False, timeout=180)
    return pairs


def _normalize(text: str, run: Run) -> str:
    """Replace what is this container's own (ID, name, creation time) with placeholders."""
    info = run.inspect
    created = info["Created"]  # RFC 3339 with nanoseconds, trailing zeros dropped (Go's JSON)
    m = re.fullmatch(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d(?:\.\d+)?)Z", created)
    assert m, created
    go_string = f"{m.group(1)} {m.group(2)} +0000 UTC"  # time.Time.String of a UTC time
    for raw, placeholder in ((info["Id"], "<FULLID>"), (info["Id"][:12], "<ID>"),
                             (info["Name"].lstrip("/"), "<NAME>"), (created, "<CREATED>"),
                             (go_string, "<CREATED>")):
        text = text.replace(raw, placeholder)
    return text


def _event(hec: FakeHec, run: Run) -> dict[str, Any]:
    found = [e["event"] for e in hec.events if e["event"]["line"] == run.name]
    assert len(found) == 1, (run.name, found)
    return found[0]


def compare(hec: FakeHec, pairs: list[tuple[Run, Run]], what: str,
            cases: list[Any]) -> list[str]:
    differences = []
    for docker_run, our_run in pairs:
        case = cases[docker_run.case]
        if docker_run.refused is not None or our_run.refused is not None:
            if docker_run.refused is None or our_run.refused is None:
                differences.append(
                    f"{what} {case!r}: Docker's splunk driver "
                    f"{'refused: ' + docker_run.refused if docker_run.refused else 'started'}"
                    f"; the plugin "
                    f"{'refused: ' + our_run.refused if our_run.refused else 'started'}"
                    + _event_note(hec, docker_run, our_run))
            continue
        theirs, mine = _event(hec, docker_run), _event(hec, our_run)
        for key in ("tag", "attrs"):
            a = _normalize(json.dumps(theirs.get(key), ensure_ascii=False), docker_run)
            b = _normalize(json.dumps(mine.get(key), ensure_ascii=False), our_run)
            if a != b:
                differences.append(f"{what} {case!r}: {key}\n  Docker: {a}\n  plugin: {b}")
    return differences


def _event_note(hec: FakeHec, *runs: Run) -> str:
    notes = []
    for run in runs:
        if run.refused is None:
            notes.append(f" ({run.driver} tag: {_event(hec, run).get('tag')!r})")
    return "".join(notes)


def test_tag_templates_render_as_dockers_splunk_driver_renders_them(
    docker: Docker, ours: str
) -> None:
    chunks = [" ¦ ".join(TEMPLATES[k:k + CHUNK]) for k in range(0, len(TEMPLATES), CHUNK)]
    templates = chunks + REFUSED
    with FakeHec(TOKEN) as hec:
        pairs = run_cases(docker, hec, ours, [{**BASE_OPTS, "tag": t} for t in templates])
        differences = compare(hec, pairs, "tag", templates)
        first = [None if r.refused else _event(hec, r).get("tag") for r in pairs[0]]
    assert not differences, (f"{len(differences)} of {len(templates)} templates differ:\n"
                             + "\n".join(differences))
    # the two samples give what it says, with both drivers
    assert [str(tag).split(" ¦ ")[:2] for tag in first] == [["testing--linux", "none"]] * 2
    # the table is what it says: Docker renders each chunk and refuses each of REFUSED
    refused = [d.refused is not None for d, _ in pairs]
    assert refused == [False] * len(chunks) + [True] * len(REFUSED), [
        t for t, r in zip(templates, refused, strict=True) if r != (t in REFUSED)]


def test_labels_and_env_attributes_match_dockers_splunk_driver(
    docker: Docker, ours: str
) -> None:
    """Go's regexp (RE2) syntax: POSIX classes, \\z, (?i), \\pL, \\Q..\\E; backreferences,
    lookarounds, \\Z and a bad class refused by both."""
    cases = [{**c, "tag": "{{.Name}}"} for c in ATTR_CASES]
    with FakeHec(TOKEN) as hec:
        pairs = run_cases(docker, hec, ours, cases, ENV)
        differences = compare(hec, pairs, "attrs", ATTR_CASES)
        attached = [_event(hec, d).get("attrs") for d, _ in pairs if d.refused is None]
    assert not differences, "\n".join(differences)
    assert [d.refused is not None for d, _ in pairs] == [False] * 6 + [True] * 5
    assert attached[1] == {"production_status": "testing", "com.example.tier": "web",
                           "HTTP_PROXY": "p", "EMPTY": ""}, attached  # RE2-only forms matched

