"""A strict parser of the Prometheus text exposition format 0.0.4, for the
server's integration test of GET /metrics."""
import re

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
SAMPLE_VALUE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|[+-]Inf|NaN")
LABEL_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


def parse_labels(line, pos, where):
    """The label list starting at line[pos] (just after "{"): (labels dict,
    position after "}"). Raises ValueError when malformed or unterminated."""
    labels = {}
    try:
        while line[pos] != "}":
            lm = LABEL_NAME.match(line, pos)
            if not lm or line[lm.end():lm.end() + 2] != '="':
                raise ValueError(f"bad label, {where}")
            key, pos, value = lm.group(0), lm.end() + 2, []
            while line[pos] != '"':
                if line[pos] == "\\":
                    if line[pos + 1] not in LABEL_ESCAPES:
                        raise ValueError(f"bad escape, {where}")
                    value.append(LABEL_ESCAPES[line[pos + 1]])
                    pos += 2
                else:
                    value.append(line[pos])
                    pos += 1
            if key in labels:
                raise ValueError(f"duplicate label, {where}")
            labels[key] = "".join(value)
            pos += 1
            if line[pos] == ",":
                pos += 1
            elif line[pos] != "}":
                raise ValueError(f"bad label list, {where}")
    except IndexError:
        raise ValueError(f"unterminated label list, {where}") from None
    return labels, pos + 1


def parse_prometheus(text):
    """A strict parser of the Prometheus text format 0.0.4 as /metrics uses
    it: {family: {"type", "help", "samples": [(name, labels dict, value)]}}.
    Raises ValueError on anything malformed: a missing final newline, a
    sample before its family's HELP/TYPE or outside it, a family split or
    declared twice, a bad name, label, escape or value, and histograms whose
    buckets are not cumulative or lack +Inf = _count and _sum."""
    if not text.endswith("\n"):
        raise ValueError("no final newline")
    families, current = {}, None
    for lineno, line in enumerate(text[:-1].split("\n"), 1):
        where = f"line {lineno}: {line!r}"
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            kind, rest = line[2:6], line[7:]
            name, _, arg = rest.partition(" ")
            if not METRIC_NAME.fullmatch(name):
                raise ValueError(f"bad family name, {where}")
            if kind == "HELP":
                if name in families:
                    raise ValueError(f"family declared twice, {where}")
                families[name] = {"help": arg, "type": None, "samples": []}
                current = name
            else:
                if current != name or families[name]["type"] is not None:
                    raise ValueError(f"TYPE not right after its HELP, {where}")
                if arg not in ("counter", "gauge", "histogram", "summary", "untyped"):
                    raise ValueError(f"bad type, {where}")
                families[name]["type"] = arg
            continue
        if not line or line.startswith("#"):
            raise ValueError(f"unexpected line, {where}")
        m = METRIC_NAME.match(line)
        if not m:
            raise ValueError(f"bad sample name, {where}")
        name, pos, labels = m.group(0), m.end(), {}
        if pos < len(line) and line[pos] == "{":
            labels, pos = parse_labels(line, pos + 1, where)
        if line[pos:pos + 1] != " ":
            raise ValueError(f"no value, {where}")
        fields = line[pos + 1:].split(" ")
        if len(fields) not in (1, 2):
            raise ValueError(f"bad value, {where}")
        if not SAMPLE_VALUE.fullmatch(fields[0]) or (len(fields) == 2 and not fields[1].lstrip("-").isdigit()):
            raise ValueError(f"bad value, {where}")
        value = float(fields[0])
        fam = families.get(current)
        if fam is None or fam["type"] is None:
            raise ValueError(f"sample before HELP/TYPE, {where}")
        base = name
        if fam["type"] == "histogram":
            for suffix in ("_bucket", "_sum", "_count"):
                if name == current + suffix:
                    base = current
        if base != current:
            raise ValueError(f"sample outside its family {current}, {where}")
        if fam["type"] == "counter" and value < 0:
            raise ValueError(f"negative counter, {where}")
        fam["samples"].append((name, labels, value))
    for name, fam in families.items():
        if fam["type"] == "histogram":
            check_histogram(name, fam["samples"])
    return families


def check_histogram(name, samples):
    """Per series (labels without le): le bounds increasing, counts
    cumulative, a +Inf bucket equal to _count, and one _sum."""
    series = {}
    for sname, labels, value in samples:
        key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        s = series.setdefault(key, {"buckets": [], "sum": None, "count": None})
        if sname == name + "_bucket":
            s["buckets"].append((float(labels["le"]), value))
        elif sname == name + "_sum":
            s["sum"] = value
        else:
            s["count"] = value
    for key, s in series.items():
        bounds = [b for b, _ in s["buckets"]]
        counts = [c for _, c in s["buckets"]]
        if not bounds or bounds[-1] != float("inf") or bounds != sorted(set(bounds)):
            raise ValueError(f"{name}{key}: bad le bounds {bounds}")
        if counts != sorted(counts) or s["count"] != counts[-1] or s["sum"] is None:
            raise ValueError(f"{name}{key}: buckets {counts}, count {s['count']}, sum {s['sum']}")


def metric(families, family, sample, **labels):
    """The value of one sample (0 when absent)."""
    for name, lab, value in families[family]["samples"]:
        if name == sample and lab == labels:
            return value
    return 0
