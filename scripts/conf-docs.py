#!/usr/bin/env python3
"""pgarchive.conf(5) and the commented example /etc/pgarchive.conf, both generated from
MANUAL.md's "Configuration" section (its settings table is the one source of truth:
DocumentationTests checks it lists every key the parser accepts).

    conf-docs.py man VERSION DATE > pgarchive.conf.5
    conf-docs.py example > pgarchive.conf
"""
import re
import sys

# Settings that name one upstream or one container's resources: a global default for them
# would be shared by every container (one slot name, one port for all), so the example for
# /etc/pgarchive.conf leaves them out. The man page lists every setting.
PER_CONTAINER = {"upstream", "upstream_replication", "slot", "upstream_version", "standby_port",
                 "system_identifier", "standby_user"}


def section():
    text = open("MANUAL.md", encoding="utf-8").read()
    start = text.index("\n## Configuration\n")
    end = text.index("\n## ", start + 1)
    lines = text[start:end].strip("\n").split("\n")[1:]
    intro, rows, after = [], [], []
    for line in lines:
        if line.startswith("| `"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            rows.append((cells[0].strip("`"), cells[1], cells[2]))
        elif line.startswith("|"):
            continue  # header and separator
        elif rows:
            after.append(line)
        else:
            intro.append(line)
    return paragraphs(intro), rows, paragraphs(after)


def paragraphs(lines):
    result, current = [], []
    for line in lines:
        if line.strip():
            current.append(line.strip())
        elif current:
            result.append(" ".join(current))
            current = []
    if current:
        result.append(" ".join(current))
    return result


def plain(markdown):
    """Markdown as plain text (for the example file's comments)."""
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", markdown)
    return text.replace("**", "")


def roff(markdown):
    """Markdown inline text as roff: `code` and **bold** in bold, links as their text."""
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", markdown)
    text = text.replace("\\", "\\e")
    parts = re.split(r"(`[^`]*`|\*\*[^*]+\*\*)", text)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) >= 2:
            out.append("\\fB" + part[1:-1].replace("-", "\\-") + "\\fR")
        elif part.startswith("**"):
            out.append("\\fB" + part[2:-2] + "\\fR")
        else:
            out.append(part)
    text = "".join(out)
    return "\\&" + text if text[:1] in (".", "'") else text


def man(version, date):
    intro, rows, after = section()
    out = [
        '.TH PGARCHIVE.CONF 5 "%s" "pgarchive %s" "File Formats Manual"' % (date, version),
        ".SH NAME",
        "pgarchive.conf \\- settings of a pgarchive container, and their defaults for all containers",
        ".SH SYNOPSIS",
        ".I CONTAINER/pgarchive.conf",
        ".br",
        ".I /etc/pgarchive.conf",
        ".SH DESCRIPTION",
    ]
    for paragraph in intro:
        out += [roff(paragraph), ".PP"]
    out[-1:] = [".SH SETTINGS"]
    for key, default, meaning in rows:
        out += [".TP", "\\fB%s\\fR (default: %s)" % (key.replace("_", "_"), roff(default) if default else "empty"), roff(meaning)]
    out.append(".SH NOTES")
    for paragraph in after:
        out += [roff(paragraph), ".PP"]
    out[-1:] = [
        ".SH FILES",
        ".TP",
        ".I /etc/pgarchive.conf",
        "defaults for every container (or the file named by \\fBPGARCHIVE_CONF\\fR)",
        ".TP",
        ".I /usr/share/doc/pgarchive/examples/pgarchive.conf",
        "a commented example of it",
        ".SH SEE ALSO",
        ".BR pgarchive (1),",
        "/usr/share/doc/pgarchive/MANUAL.md.gz",
    ]
    return "\n".join(out) + "\n"


def example():
    _, rows, after = section()
    literal = re.compile(r"^`([^`]*)`$")
    out = [
        "# /etc/pgarchive.conf: defaults for every pgarchive container (a container's own",
        "# pgarchive.conf overrides them), in postgresql.conf's syntax. Uncomment what you change.",
        "# Keep it readable by the service user (postgres). `man pgarchive.conf` explains each",
        "# setting. Left out: settings that name one upstream or one container's resources",
        "# (they belong in the container's file):",
        "#   " + ", ".join(sorted(PER_CONTAINER)) + ".",
    ]
    for paragraph in after:
        out.append("# " + plain(paragraph).replace("`", ""))
    for key, default, meaning in rows:
        if key in PER_CONTAINER:
            continue
        out.append("")
        words, line = plain(meaning).replace("`", "").split(), "#"
        for word in words:
            if len(line) + 1 + len(word) > 88:
                out.append(line)
                line = "#"
            line += " " + word
        out.append(line)
        match = literal.match(default)
        if match:
            out.append("#%s = '%s'" % (key, match.group(1).replace("'", "''")))
        elif not default or default == "empty":
            out.append("#%s = ''" % key)
        else:  # a default that is not one value ("found", "standby port + 1"): no value to copy
            out += ["# default: " + plain(default).replace("`", ""), "#%s = " % key]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    if sys.argv[1:2] == ["man"] and len(sys.argv) == 4:
        sys.stdout.write(man(sys.argv[2], sys.argv[3]))
    elif sys.argv[1:] == ["example"]:
        sys.stdout.write(example())
    else:
        sys.exit("usage: conf-docs.py man VERSION DATE | conf-docs.py example")
