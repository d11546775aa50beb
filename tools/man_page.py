#!/usr/bin/env python3
"""Builds a man page: docs/man/NAME.scd with its generated sections filled in, through scdoc.

  man_page.py SRC OUT --scdoc SCDOC [--ternd TERND] [--tern TERN]

%%KEYS%% in SRC becomes every configuration key as `ternd --keys` prints it (the configuration
table in src/ternd/base/config_schema.c), grouped by section; %%COMMANDS%% becomes every command
of `tern --help` with its own `tern COMMAND SUBCOMMAND --help` (usage, what it does, options).
So the pages cannot drift from the programs; tests/system/test_man.py reads the built pages back.
"""
import argparse
import re
import subprocess
import sys


def esc(text):
    """Text for scdoc: its markup characters taken literally (and a leading "-" is no list)."""
    text = re.sub(r"([\\*_])", r"\\\1", text)
    return "\\" + text if text.startswith("-") else text


def inline(text):
    """A table cell: `code` becomes bold, the rest literal."""
    parts = text.split("`")
    return "".join(esc(p) if i % 2 == 0 else "*" + esc(p) + "*" for i, p in enumerate(parts))


def run(argv):
    r = subprocess.run(argv, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        sys.exit("%s: exit %d: %s" % (" ".join(argv), r.returncode, r.stderr.strip()))
    return r.stdout


def keys_section(ternd):
    rows = [line for line in run([ternd, "--keys"]).splitlines() if line.startswith("| `")]
    if not rows:
        sys.exit("%s --keys printed no key" % ternd)
    out, section = [], None
    for line in rows:
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) != 6:
            sys.exit("a row of %s --keys without 6 cells: %s" % (ternd, line))
        key, typ, rng, default, reload, meaning = cells
        name = key.strip("`")
        top = re.split(r"[.\[]", name)[0]
        if top != section:
            section = top
            out += ["## %s" % esc(top), ""]
        facts = [typ]
        if rng != "any":
            facts.append(rng)
        facts.append("required" if default == "required" else "default " + default)
        facts.append("reload: " + reload)
        out += ["*%s* (%s)" % (esc(name), inline("; ".join(facts))), "\t" + inline(meaning), ""]
    return "\n".join(out).rstrip("\n")


def command_help(tern, words):
    """One command's --help: usage, the text, the options (the common settings left out)."""
    text = run([tern] + words + ["--help"])
    text = text.split("\nSettings (before or after the command):")[0]
    lines = text.rstrip("\n").splitlines()
    if not lines or not lines[0].startswith("usage: "):
        sys.exit("tern %s --help: no usage line" % " ".join(words))
    out = ["## " + esc(lines[0][len("usage: "):]), ""]
    para, in_options = [], False

    def flush():
        if para:
            if para[0].startswith("\t"):  # examples: a literal block, each line as it is
                out.extend(["```"] + [line[1:] for line in para] + ["```"])
            else:
                out.extend(para)
            out.append("")
            para.clear()

    for line in lines[1:]:
        if not line.strip():
            flush()
            continue
        if line.rstrip() == "Options:" or line.endswith("\nOptions:"):
            flush()
            in_options = True
            continue
        if in_options:
            m = re.match(r"^  (-\S+(?: [A-Z]\S*)*)\s{2,}(.*)$", line)
            if m:
                flush()
                para.extend(["*%s*" % esc(m.group(1)), "\t" + esc(m.group(2))])
            elif para:
                para[-1] += " " + esc(line.strip())
            continue
        example = line.startswith("  ")  # an example: an indented block, a line each
        if para and para[-1].startswith("\t") != example:
            flush()
        para.append("\t" + line.strip() if example else esc(line.strip()))
    flush()
    return out


def commands_section(tern):
    usage = run([tern, "--help"])
    cmds = []
    for line in usage.splitlines():
        m = re.match(r"^  ([a-z][a-z-]*)((?: [a-z][a-z-]*)?)(?: |$)", line)
        if m:  # "  zone create NAME ...", "  explain NAME TYPE ...": the lower-case words
            cmds.append([m.group(1)] + m.group(2).split())
    if not cmds:
        sys.exit("%s --help lists no command" % tern)
    out = []
    for words in cmds:
        out += command_help(tern, words)
    return "\n".join(out).rstrip("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--scdoc", required=True)
    ap.add_argument("--ternd")
    ap.add_argument("--tern")
    a = ap.parse_args()
    with open(a.src, encoding="utf-8") as f:
        text = f.read()
    if "%%KEYS%%" in text:
        text = text.replace("%%KEYS%%", keys_section(a.ternd))
    if "%%COMMANDS%%" in text:
        text = text.replace("%%COMMANDS%%", commands_section(a.tern))
    r = subprocess.run([a.scdoc], input=text.encode(), capture_output=True, check=False)
    if r.returncode != 0:
        sys.exit("scdoc %s: %s" % (a.src, r.stderr.decode(errors="replace").strip()))
    with open(a.out, "wb") as f:
        f.write(r.stdout)


if __name__ == "__main__":
    main()
