from test_check import *  # noqa
def test_debug(lab):
    h = os.path.join(lab.dir, "root.hints")
    for args in (["fqdn", "app.corp.lab", "--resolver", RESOLVER], ["domain", "corp.lab"] + REGISTRY_ARGS, ["domain", "lame.lab", "--no-whois"]):
        r = lab.ns.run([TERN, "check"] + args + ["--hints", h], check=False)
        print(r.stdout, r.stderr)
    import time as t
    for i in range(3):
        s = t.time(); lab.ns.run([os.path.join(os.path.dirname(TERND), "..", "build", "tern"), "check", "domain", "corp.lab", "--hints", h] + REGISTRY_ARGS, check=False); print("release wall", t.time() - s)
