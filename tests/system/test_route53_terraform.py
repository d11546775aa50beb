"""Terraform's AWS provider (hashicorp/aws 5.100.0) manages zones and records in Tern through the
Route 53-compatible API (issue 26): apply makes an aws_route53_zone and an aws_route53_record that
dig then sees, a second plan shows no changes, a changed record and destroy are served. Everything
runs in a network namespace of its own (terraform never reaches the network) with
CHECKPOINT_DISABLE=1 and the image's plugin directory; where terraform or the provider is absent
the test is skipped, saying which."""
import glob
import json
import os
import re
import shutil
import subprocess
import time

import pytest

import ternlib
from apilib import ApiTernd, keys  # noqa: F401
from signallab import Ns

PROVIDER = "registry.terraform.io/hashicorp/aws/5.100.0"
PLUGIN_ROOTS = [os.environ.get("TERN_TF_PLUGIN_DIR", ""), "/opt/tf-plugins", os.path.expanduser("~/.terraform.d/plugins"),
                "/usr/local/share/terraform/plugins", "/usr/share/terraform/plugins"]


def plugin_dir():
    for root in PLUGIN_ROOTS:
        if root and glob.glob(os.path.join(root, PROVIDER, "linux_amd64", "terraform-provider-aws*")):
            return root
    return None


def terraform():
    return shutil.which("terraform") or ("/usr/local/bin/terraform"
                                         if os.access("/usr/local/bin/terraform", os.X_OK) else None)


class NsTernd(ApiTernd):
    """ApiTernd run in a network namespace: reached only from inside it."""

    def __init__(self, ns, *a, **kw):
        self.ns = ns
        super().__init__(*a, **kw)

    def launch(self):
        self.logf = open(self.log, "a")
        self.proc = self.ns.popen([ternlib.TERND, "-c", self.config], self.logf)
        return self.proc

    def start(self):
        self.launch()
        deadline = time.time() + 20
        while self.curl("GET", "/healthz", check=False)[0] != 200:
            assert self.proc.poll() is None, "ternd exited: %s" % self.log_text()[-3000:]
            assert time.time() < deadline, "the API did not come up"
            time.sleep(0.1)
        return self

    def curl(self, method, path, token=None, check=True):
        args = ["curl", "-s", "-o", "/dev/stdout", "-w", "\n%{http_code}", "-X", method,
                "http://127.0.0.1:%d%s" % (self.api_port, path)]
        if token:
            args += ["-H", "Authorization: Bearer " + token]
        r = self.ns.run(args, check=check)
        body, _, code = r.stdout.rpartition("\n")
        return int(code or 0), body

    def dig(self, name, rtype="A"):
        r = self.ns.run(["dig", "@127.0.0.1", "-p", str(self.port), "+short", "+norec", "+time=2", name, rtype])
        return sorted(line for line in r.stdout.split("\n") if line)


CONFIG = """
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "5.100.0" }
  }
}
provider "aws" {
  region                      = "us-east-1"
  access_key                  = "%(akid)s"
  secret_key                  = "%(secret)s"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  endpoints {
    route53 = "http://127.0.0.1:%(port)d"
  }
}
resource "aws_route53_zone" "z" {
  name = "tf.test"
  tags = { env = "test" }
}
resource "aws_route53_record" "www" {
  zone_id = aws_route53_zone.z.zone_id
  name    = "www.tf.test"
  type    = "A"
  ttl     = %(ttl)d
  records = %(records)s
}
resource "aws_route53_record" "txt" {
  zone_id = aws_route53_zone.z.zone_id
  name    = "tf.test"
  type    = "TXT"
  ttl     = 300
  records = ["v=spf1 -all"]
}
"""


def calls(log):
    """The Route 53 API's operations the provider called, in order (from its debug log: an entry
    starts with a timestamp, and a request's fields may follow its body on later lines)."""
    out, sent, seen = [], False, False
    with open(log, errors="replace") as f:
        for line in f:
            if re.match(r"\d{4}-\d\d-\d\dT", line):
                sent, seen = "HTTP Request Sent" in line, False
            m = re.search(r"rpc\.method=([A-Za-z]+)", line)
            if sent and m and not seen:
                out.append(m.group(1))
                seen = True
    return out


# What ternd serves (src/ternd/api/api_r53.c): the provider must call nothing else for these resources.
SERVED = {"CreateHostedZone", "GetHostedZone", "ListHostedZones", "ListHostedZonesByName", "GetHostedZoneCount",
          "DeleteHostedZone", "ChangeResourceRecordSets", "ListResourceRecordSets", "GetChange",
          "ListTagsForResource", "ChangeTagsForResource"}


def test_terraform_manages_zone_and_records(tmp_path, keys):
    tf = terraform()
    if not tf:
        pytest.skip("terraform is not installed (/usr/local/bin/terraform; it is not a Debian package)")
    plugins = plugin_dir()
    if not plugins:
        pytest.skip("the hashicorp/aws 5.100.0 provider is not in a local plugin directory (looked in %s)"
                    % ", ".join(r for r in PLUGIN_ROOTS if r))
    if not shutil.which("unshare") or not shutil.which("nsenter"):
        pytest.skip("unshare and nsenter (util-linux) are needed for the network namespace")
    if not os.access(ternlib.TERND, os.X_OK):
        pytest.skip("no ternd binary at %s (make build)" % ternlib.TERND)
    (tmp_path / "ternd").mkdir()
    ns = Ns()
    srv = None
    try:
        srv = NsTernd(ns, keys, workdir=str(tmp_path / "ternd"))
        srv.start()
        code, body = srv.curl("POST", "/api/v1/r53-keys", token=keys.token("tf-tenant"))
        assert code == 201, body
        cred = json.loads(body)
        work = tmp_path / "tf"
        work.mkdir()
        cli_config = tmp_path / "terraformrc"
        cli_config.write_text("")
        log = str(tmp_path / "terraform.log")
        env = dict(os.environ, CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1", TF_INPUT="0",
                   TF_CLI_CONFIG_FILE=str(cli_config), TF_LOG="DEBUG", TF_LOG_PATH=log,
                   HOME=str(tmp_path), AWS_EC2_METADATA_DISABLED="true")
        for k in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            env.pop(k, None)

        def run(*args, expect=0):
            r = subprocess.run(ns.argv([tf, "-chdir=" + str(work)] + list(args)), capture_output=True, text=True,
                               env=env, timeout=600)
            assert r.returncode in ((expect,) if isinstance(expect, int) else expect), \
                "terraform %s -> %d\n%s\n%s\nprovider calls: %s\nternd log:\n%s" % (
                    " ".join(args), r.returncode, r.stdout[-6000:], r.stderr[-6000:], calls(log),
                    srv.log_text()[-3000:])
            return r

        def write(ttl, records):
            (work / "main.tf").write_text(CONFIG % {"akid": cred["access_key_id"], "secret": cred["secret_access_key"],
                                                    "port": srv.api_port, "ttl": ttl, "records": json.dumps(records)})

        write(300, ["192.0.2.10", "192.0.2.11"])
        run("init", "-plugin-dir=" + plugins, "-input=false", "-no-color")
        run("apply", "-auto-approve", "-input=false", "-no-color")
        assert srv.dig("www.tf.test") == ["192.0.2.10", "192.0.2.11"]
        assert srv.dig("tf.test", "TXT") == ['"v=spf1 -all"']
        # nothing to change: plan's -detailed-exitcode is 0 (2 would mean changes)
        run("plan", "-detailed-exitcode", "-input=false", "-no-color")
        # a changed record
        write(60, ["192.0.2.20"])
        run("apply", "-auto-approve", "-input=false", "-no-color")
        assert srv.dig("www.tf.test") == ["192.0.2.20"]
        run("plan", "-detailed-exitcode", "-input=false", "-no-color")
        run("destroy", "-auto-approve", "-input=false", "-no-color")
        assert srv.dig("www.tf.test") == []
        r = ns.run(["dig", "@127.0.0.1", "-p", str(srv.port), "+norec", "tf.test", "SOA"])
        assert "status: REFUSED" in r.stdout, r.stdout
        made = set(calls(log))
        print("provider calls:", sorted(made))
        assert made and made <= SERVED, "the provider called %s" % sorted(made - SERVED)
        assert {"CreateHostedZone", "ChangeResourceRecordSets", "ListResourceRecordSets", "GetChange",
                "DeleteHostedZone"} <= made, made
    finally:
        if srv:
            srv.stop()
        ns.close()
    report = srv.sanitizer_report()
    assert report is None, report
