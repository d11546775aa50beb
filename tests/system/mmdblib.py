"""MaxMind DB files for the geo tests, built at run time with Debian's libmaxmind-db-writer-perl
(no binary fixture) in GeoLite2-Country's layout (country.iso_code, continent.code), and read back
with mmdblookup (mmdb-bin) to cross-check what the servers say."""
import os
import re
import subprocess

WRITER = r"""
use strict; use warnings;
use MaxMind::DB::Writer::Tree;
my ($out, @nets) = @ARGV;
my %types = (country => 'map', continent => 'map', iso_code => 'utf8_string', code => 'utf8_string',
             names => 'map', en => 'utf8_string');
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version => 6, record_size => 24, database_type => 'GeoLite2-Country',
    languages => ['en'], description => { en => 'Tern test database' },
    map_key_type_callback => sub { $types{ $_[0] } },
    # the documentation ranges the tests use are reserved: keep them
    remove_reserved_networks => 0,
);
for my $n (@nets) {
    my ($net, $cc, $cont) = split /[=,]/, $n;
    # "-" for the country: a record with a continent only (as GeoLite2 has for some networks)
    my %rec = (continent => { code => $cont, names => { en => $cont } });
    $rec{country} = { iso_code => $cc, names => { en => $cc } } if $cc ne '-';
    $tree->insert_network($net, \%rec);
}
open my $fh, '>:raw', "$out.tmp" or die "$out.tmp: $!";
$tree->write_tree($fh);
close $fh or die;
rename "$out.tmp", $out or die "$out: $!";
"""

# the map: BR, NL by IPv4 network, US by IPv6 network
NETS = {"198.51.100.0/24": ("BR", "SA"), "203.0.113.0/24": ("NL", "EU"), "2001:db8:1::/48": ("US", "NA")}
# the same networks, BR and NL swapped: the database a swap brings in
SWAPPED = {"198.51.100.0/24": ("NL", "EU"), "203.0.113.0/24": ("BR", "SA"), "2001:db8:1::/48": ("US", "NA")}


def build(path, nets):
    """Writes the database of nets {network: (country or None, continent)} (atomically: a temporary
    file renamed over path)."""
    script = os.path.join(os.path.dirname(path) or ".", "mmdb-writer.pl")
    with open(script, "w") as f:
        f.write(WRITER)
    args = ["%s=%s,%s" % (net, cc or "-", cont) for net, (cc, cont) in nets.items()]
    subprocess.run(["perl", script, path] + args, check=True, capture_output=True, timeout=120)
    return path


def lookup(path, ip):
    """(country or None, continent, prefix length in the address's family) as mmdblookup reads them, or
    None when the database does not hold ip."""
    p = subprocess.run(["mmdblookup", "-v", "-f", path, "-i", ip], capture_output=True, text=True, timeout=30)
    if "Could not find an entry" in p.stdout + p.stderr:
        return None
    assert p.returncode == 0, p.stdout + p.stderr
    prefix = int(re.search(r"Record prefix length: (\d+)", p.stdout).group(1))
    if ":" not in ip:
        prefix -= 96  # an IPv6 tree: IPv4 lives under ::/96
    cc = re.search(r'"iso_code":\s*"(\w\w)"', p.stdout)
    cc = cc.group(1) if cc else None
    cont = re.search(r'"code":\s*"(\w\w)"', p.stdout).group(1)
    return cc, cont, prefix


def record(path, ip):
    """What the database says of ip, found or not: (prefix length in the address's family of the
    network holding it, or of the empty block around it; country or None; continent or None)."""
    p = subprocess.run(["mmdblookup", "-v", "-f", path, "-i", ip], capture_output=True, text=True, timeout=30)
    m = re.search(r"Record prefix length: (\d+)", p.stdout)
    assert m, p.stdout + p.stderr
    prefix = int(m.group(1))
    if ":" not in ip:
        prefix -= 96  # an IPv6 tree: IPv4 lives under ::/96
    if "Could not find an entry" in p.stdout + p.stderr:
        return prefix, None, None
    assert p.returncode == 0, p.stdout + p.stderr
    cc = re.search(r'"iso_code":\s*"(\w\w)"', p.stdout).group(1)
    cont = re.search(r'"code":\s*"(\w\w)"', p.stdout).group(1)
    return prefix, cc, cont


def build_epoch(path):
    """The database's build time (Unix seconds) as mmdblookup reads its metadata."""
    p = subprocess.run(["mmdblookup", "-v", "-f", path, "-i", "::"], capture_output=True, text=True, timeout=30)
    return int(re.search(r"Build epoch:\s+(\d+)", p.stdout).group(1))
