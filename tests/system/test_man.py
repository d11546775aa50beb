"""The man pages (issue 19): ternd(8), ternd.yaml(5) and tern(1), built from docs/man/*.scd by
`make`, render without a warning, and name everything the programs have: every configuration key
of `ternd --keys`, every option of `ternd --help`, every signal ternd waits for (its sigaddset
calls) and every environment variable it reads (its getenv calls), every command of `tern --help`
with each of its options. The example configuration of
ternd.yaml(5) passes `ternd --check`. Each check is shown to fail on a page with a line taken out."""
import os
import re
import subprocess

import pytest

from ternlib import ROOT, TERND

BUILD = os.path.dirname(TERND)
TERN_CLI = os.environ.get("TERN_CLI", os.path.join(BUILD, "tern"))


def render(page):
    """The page as man shows it (wide, plain text), and man's warnings."""
    path = os.path.join(BUILD, page)
    assert os.path.exists(path), "%s was not built (meson.build builds the man pages)" % path
    r = subprocess.run(["man", "--warnings", "-l", "-P", "cat", path], capture_output=True, text=True,
                       env=dict(os.environ, MANWIDTH="250", LC_ALL="C.UTF-8"), timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    # groff may hyphenate and may write U+2010 for "-": undo both for searching
    text = r.stdout.replace("\u2010", "-").replace("\u2212", "-")
    return re.sub(r"-\n\s+", "-", text), r.stderr


def out(*argv):
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=60, check=True).stdout


def config_keys():
    keys = re.findall(r"^\| `([^`]+)` \|", out(TERND, "--keys"), re.M)
    assert len(keys) > 50, keys
    return keys


def ternd_options():
    text = subprocess.run([TERND, "--help"], capture_output=True, text=True, timeout=60).stdout
    opts = set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", text))
    assert {"-c", "--config", "--check", "--keys", "-h", "--help"} <= opts, opts
    return opts


def ternd_signals():
    with open(os.path.join(ROOT, "src", "ternd", "main.c"), encoding="utf-8") as f:
        sigs = re.findall(r"sigaddset\(&sigs, (SIG[A-Z0-9]+)\)", f.read())
    assert "SIGHUP" in sigs and "SIGTERM" in sigs, sigs
    return sigs


def tern_commands():
    """[(command words, [its options])] from tern --help and each command's --help."""
    cmds = []
    for line in out(TERN_CLI, "--help").splitlines():
        m = re.match(r"^  ([a-z][a-z-]*)((?: [a-z][a-z-]*)?)(?: |$)", line)
        if m:  # a command is its lower-case words: "zone create", "explain"
            words = [m.group(1)] + m.group(2).split()
            text = out(TERN_CLI, *words, "--help").split("\nSettings (before or after the command):")[0]
            opts = re.findall(r"^  (--[a-z][a-z-]*)", text.split("\nOptions:")[-1], re.M) if "Options:" in text else []
            cmds.append((words, opts))
    assert len(cmds) > 20, cmds
    return cmds


def missing_keys(text):
    return [k for k in config_keys() if not re.search(r"^\s+%s \(" % re.escape(k), text, re.M)]


def ternd_environment():
    """Every environment variable ternd reads (getenv in src/ternd and src/lib)."""
    names = set()
    for top in ("src/ternd", "src/lib"):
        for d, _dirs, files in os.walk(os.path.join(ROOT, top)):
            for f in files:
                if f.endswith(".c"):
                    with open(os.path.join(d, f), encoding="utf-8") as fh:
                        names |= set(re.findall(r'getenv\("([A-Z_]+)"\)', fh.read()))
    assert "NOTIFY_SOCKET" in names, names
    return sorted(names)


def section_of(text, title):
    m = re.search(r"^%s\n(.*?)(?=^[A-Z][A-Z ]+\n)" % re.escape(title), text, re.M | re.S)
    return m.group(1) if m else ""


def missing_ternd(text):
    lost = [o for o in ternd_options() if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(o), text)]
    lost += [s for s in ternd_signals() if s not in section_of(text, "SIGNALS")]
    return lost + [e for e in ternd_environment() if e not in section_of(text, "ENVIRONMENT")]


def missing_commands(text):
    lost = []
    for words, opts in tern_commands():
        head = re.search(r"^\s+tern %s\b.*$" % re.escape(" ".join(words)), text, re.M)
        if not head:
            lost.append(" ".join(words))
            continue
        body = text[head.end():]
        nxt = re.search(r"^\s{3}tern [a-z]", body, re.M)
        body = body[:nxt.start()] if nxt else body
        lost += ["%s %s" % (" ".join(words), o) for o in opts if not re.search(r"^\s+%s\b" % re.escape(o), body, re.M)]
    return lost


def without_line(text, needle):
    """The page with the first line that is needle (or starts with it) taken out: the check must
    then fail."""
    lines = text.splitlines(keepends=True)
    i = next(i for i, line in enumerate(lines) if line.strip().startswith(needle))
    return "".join(lines[:i] + lines[i + 1:])


def test_ternd_yaml_5_names_every_key():
    text, warnings = render("ternd.yaml.5")
    assert not warnings, warnings
    assert missing_keys(text) == []
    assert missing_keys(without_line(text, "server.tcp-idle-timeout (")) == ["server.tcp-idle-timeout"]
    # each key with its type, range, default and reload, as the table has them
    assert re.search(r"server\.edns-buffer-size \(bytes; 512\.\.4096; default 1232; reload: yes\)", text), text


def test_ternd_8_names_every_option_and_signal():
    text, warnings = render("ternd.8")
    assert not warnings, warnings
    assert missing_ternd(text) == []
    assert missing_ternd(without_line(text.replace("SIGTERM, SIGINT", "SIGTERM\n SIGINT"), "SIGINT")) == ["SIGINT"]
    assert "--keys" in missing_ternd(text.replace("--keys", "--k"))
    assert "TERND_ALLOW_ROOT" in missing_ternd(without_line(text, "TERND_ALLOW_ROOT"))


def test_tern_1_names_every_command_and_option():
    text, warnings = render("tern.1")
    assert not warnings, warnings
    assert missing_commands(text) == []
    assert "record set" in missing_commands(text.replace("tern record set", "tern record put"))
    assert missing_commands(without_line(text, "--passphrase-file F")) == ["dnssec backup --passphrase-file"]
    for env in ("TERN_API", "TERN_TOKEN", "TERN_TIMEOUT"):
        assert env in text.split("ENVIRONMENT")[1], env


def missing_agent_options(text):
    """Each option of dist/tern-anycast-agent --help the page does not open a paragraph with."""
    helptext = out("/usr/bin/python3", os.path.join(ROOT, "dist", "tern-anycast-agent"), "--help")
    opts = sorted(set(re.findall(r"(--[a-z][a-z-]+)", helptext)) - {"--help"})
    assert len(opts) > 10, helptext
    return [o for o in opts if not re.search(r"^\s+(--\S+ \S+, )?%s\b" % re.escape(o), text, re.M)]


def test_tern_anycast_agent_8_names_every_option():
    text, warnings = render("tern-anycast-agent.8")
    assert not warnings, warnings
    assert missing_agent_options(text) == []
    assert missing_agent_options(without_line(text, "--insecure")) == ["--insecure"]


def test_ternd_yaml_5_example_checks(tmp_path):
    """The EXAMPLE of ternd.yaml(5) is a configuration ternd accepts."""
    with open(os.path.join(ROOT, "docs", "man", "ternd.yaml.5.scd"), encoding="utf-8") as f:
        scd = f.read()
    example = scd.split("# EXAMPLE")[1].split("```")[1]
    (tmp_path / "ternd.yaml").write_text(example)
    (tmp_path / "example.com.zone").write_text(
        "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.53\n")
    r = subprocess.run([TERND, "--check", "-c", str(tmp_path / "ternd.yaml")], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("page", ["ternd.8", "ternd.yaml.5", "tern.1", "tern-anycast-agent.8"])
def test_page_installs_in_its_section(page):
    """meson installs each page under man<section>."""
    intro = os.path.join(BUILD, "meson-info", "intro-installed.json")
    with open(intro, encoding="utf-8") as f:
        installed = f.read()
    section = page.rsplit(".", 1)[1]
    assert re.search(r"/man%s/%s\"" % (section, re.escape(page)), installed), installed
