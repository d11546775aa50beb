"""The module map is enforced by the build: an #include that crosses it the wrong way fails `make`
with file:line and the rule, and the map in meson.build cannot hold a cycle (issue 15)."""
import os
import shutil
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def tree_copy(tmp_path):
    """The sources a build needs, in a fresh folder (no build directory of the checkout)."""
    dst = tmp_path / "tree"
    dst.mkdir()
    for entry in ("meson.build", "Makefile", "src", "tools", "docs", "dist", "bench", "tests/unit", "tests/fuzz"):
        src = os.path.join(ROOT, entry)
        if os.path.isdir(src):
            shutil.copytree(src, dst / entry, ignore=shutil.ignore_patterns("corpus_*", "regress", "crashes"))
        else:
            (dst / entry).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, dst / entry)
    return dst


def make(tree):
    """`make build` in the copied tree; stops at the first failure."""
    return subprocess.run(["make", "-C", str(tree), "build", "BUILD=b"], capture_output=True, text=True,
                          timeout=600)


def append_include(tree, path, header):
    with open(tree / path, "a", encoding="utf-8") as f:
        f.write(f'#include "{header}"\n')
    with open(tree / path, encoding="utf-8") as f:
        return sum(1 for _ in f)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return tree_copy(tmp_path_factory.mktemp("modules"))


@pytest.mark.parametrize("path,header,module,target", [
    ("src/lib/name.c", "ternd/zones/zones.h", "lib", "zones"),  # the codec reaching into the daemon
    ("src/ternd/ns/edns.c", "ternd/api/api.h", "ns", "api"),  # the query path reaching up to the API
    ("src/ternd/base/log.h", "ternd/xfrin/xfrin.h", "base", "xfrin"),  # a header counts as much as a .c
    ("src/ternd/dyn/answer.h", "ternd/ns/query.h", "dyn", "ns"),  # the cycle issue 15 found
    ("src/tern/client.c", "ternd/base/config.h", "tern", "base"),  # the CLI uses libtern only
])
def test_forbidden_include_fails_make(tree, path, header, module, target):
    original = (tree / path).read_bytes()
    try:
        line = append_include(tree, path, header)
        r = make(tree)
        assert r.returncode != 0, r.stdout[-2000:]
        want = f'{path}:{line}: module {module} includes "{header}" of module {target}'
        assert want in r.stderr + r.stdout, (r.stdout + r.stderr)[-3000:]
    finally:
        (tree / path).write_bytes(original)


def test_allowed_include_builds(tree):
    """The same kind of edit in the allowed direction builds: the check is not simply refusing."""
    path = "src/ternd/api/pops.c"
    original = (tree / path).read_bytes()
    try:
        append_include(tree, path, "ternd/ns/query.h")
        r = make(tree)
        assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    finally:
        (tree / path).write_bytes(original)


def test_header_outside_every_module_fails(tree):
    path = "src/ternd/net/udp.c"
    original = (tree / path).read_bytes()
    try:
        line = append_include(tree, path, "ternd/nowhere/x.h")
        r = make(tree)
        assert r.returncode != 0
        assert f'{path}:{line}: "ternd/nowhere/x.h" is in no module of meson.build' in r.stderr + r.stdout
    finally:
        (tree / path).write_bytes(original)


def test_map_refuses_a_use_declared_later():
    """A module may use only modules declared before it, so the map cannot close a cycle."""
    r = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "check_modules.py"), ROOT,
                        "/dev/null", "lib=src/lib:", "zones=src/ternd/zones:lib,base", "base=src/ternd/base:lib,zones"],
                       capture_output=True, text=True)
    assert r.returncode != 0
    assert "module zones uses base, which is not declared before it" in r.stderr


def meson_modules():
    """name -> set of modules used, from meson.build's `modules` list."""
    import re
    text = open(os.path.join(ROOT, "meson.build"), encoding="utf-8").read()
    block = text[text.index("modules = ["):]
    return {m.group(1): set(re.findall(r"'([a-z]+)'", m.group(2)))
            for m in re.finditer(r"^  \['([a-z]+)', '[^']+', \[([^\]]*)\]", block, re.M)}


def test_architecture_doc_matches_the_build():
    """docs/architecture.md's module table is the map the build enforces, row for row."""
    doc = open(os.path.join(ROOT, "docs", "architecture.md"), encoding="utf-8").read()
    rows = {}
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in ("module", "---") and cells[1].startswith("src/"):
            uses = set() if cells[3].startswith("(") else {u.strip() for u in cells[3].split(",")}
            rows[cells[0]] = uses
    assert rows == meson_modules()
