#!/usr/bin/perl
#
# tests/data/make-test-mmdb.pl OUTDIR -- writes the small MaxMind DB files
# that tests/test_geodb.c (and later stages' tests) look addresses up in.
# Everything is in documentation (RFC 5737, RFC 3849) or private (RFC 1918)
# space, so no answer here can be mistaken for real geolocation.
#
# test-maxmind.mmdb  database_type "GeoLite2-Country", IPv6 tree, IPv4 in
#                    ::/96 and aliased from ::ffff:0:0/96, 2001::/32 and
#                    2002::/16 as MaxMind's own files are.  Records are
#                    {country:{iso_code}, registered_country:{iso_code}}.
# test-iplocation.mmdb  ip-location-db style {country_code}, IPv6 tree, IPv4
#                    in ::/96, no aliases (as the pinned default DB).
# test-asn.mmdb      database_type "GeoLite2-ASN", {autonomous_system_number,
#                    autonomous_system_organization}: a database of another
#                    kind, which geodb must refuse.
#
#   network              test-maxmind             test-iplocation  test-asn
#   198.51.100.0/24      CN                       CN               AS64496
#   203.0.113.0/24       US  (but .64/26 below)   US               AS64497
#   203.0.113.64/26      CN                       US (the /24)     -
#   192.0.2.0/24         RU                       RU               -
#   10.50.0.0/16         CN                       -                -
#   10.60.0.0/16         registered_country IR    IR               -
#                        only (no country)
#   172.16.5.0/24        DE                       FR               -
#   2001:db8:1::/48      CN                       CN               -
#   2001:db8:2::/48      US                       US               -
#   2001:db8:3::/48      registered_country IR    IR               -
#                        only (no country)
#   2001:db8:4::/48      DE                       FR               -
#   2001:db8:5::/48      -                        CN               -
#   198.18.0.0/24        -                        US               -
#   2001:db8:6::/48      -                        US               -
#
# The last two are placed by one database alone, in a conforming country:
# with both files open the other is silent there (ef_geo.unplaced).
#
# Nothing else is in any file: 192.168.0.0/16, 8.8.8.8, 2001:db8:ff::/48 are
# in no network.  So CN is, as stored:
#   test-maxmind:    198.51.100.0/24 203.0.113.64/26 10.50.0.0/16 2001:db8:1::/48
#   test-iplocation: 198.51.100.0/24 2001:db8:1::/48 2001:db8:5::/48
# (MaxMind::DB::Writer never merges neighbouring networks, so the CN /26 in
# test-maxmind stays a /26 and its US /24 is stored as .0/26 and .128/25.)
#
# Reserved networks are kept (remove_reserved_networks => 0): by default the
# writer silently drops every network above.
use strict;
use warnings;

use MaxMind::DB::Writer::Tree;

die "usage: $0 OUTDIR\n" unless @ARGV == 1;
my $outdir = $ARGV[0];
-d $outdir or mkdir $outdir or die "$outdir: $!\n";

my %types = (
	country                        => 'map',
	registered_country             => 'map',
	iso_code                       => 'utf8_string',
	country_code                   => 'utf8_string',
	autonomous_system_number       => 'uint32',
	autonomous_system_organization => 'utf8_string',
);

# A fixed build time keeps the files byte-identical from run to run.
my $epoch = 1700000000;

sub write_db {
	my ($name, $type, $alias, $networks) = @_;
	my $tree = MaxMind::DB::Writer::Tree->new(
		ip_version               => 6,
		record_size              => 24,
		database_type            => $type,
		languages                => ['en'],
		description              => { en => "egressfence test data: $name" },
		map_key_type_callback    => sub { $types{ $_[0] } },
		remove_reserved_networks => 0,
		alias_ipv6_to_ipv4       => $alias,
	);
	$tree->_set_build_epoch($epoch);
	# Insert in the order given: a later, more specific network splits
	# the earlier one around it.
	for (my $i = 0; $i < @$networks; $i += 2) {
		$tree->insert_network($networks->[$i], $networks->[$i + 1]);
	}
	my $path = "$outdir/$name";
	my $tmp = "$path.tmp";
	open(my $fh, '>:raw', $tmp) or die "$tmp: $!\n";
	$tree->write_tree($fh);
	close($fh) or die "$tmp: $!\n";
	rename($tmp, $path) or die "$path: $!\n";
}

sub mm { +{ country => { iso_code => $_[0] }, registered_country => { iso_code => $_[0] } } }
sub mm_registered_only { +{ registered_country => { iso_code => $_[0] } } }
sub ipl { +{ country_code => $_[0] } }

write_db('test-maxmind.mmdb', 'GeoLite2-Country', 1, [
	'198.51.100.0/24' => mm('CN'),
	'203.0.113.0/24'  => mm('US'),
	'203.0.113.64/26' => mm('CN'),
	'192.0.2.0/24'    => mm('RU'),
	'10.50.0.0/16'    => mm('CN'),
	'10.60.0.0/16'    => mm_registered_only('IR'),
	'172.16.5.0/24'   => mm('DE'),
	'2001:db8:1::/48' => mm('CN'),
	'2001:db8:2::/48' => mm('US'),
	'2001:db8:3::/48' => mm_registered_only('IR'),
	'2001:db8:4::/48' => mm('DE'),
]);

write_db('test-iplocation.mmdb', 'country ipvAll', 0, [
	'198.51.100.0/24' => ipl('CN'),
	'203.0.113.0/24'  => ipl('US'),
	'192.0.2.0/24'    => ipl('RU'),
	'10.60.0.0/16'    => ipl('IR'),
	'172.16.5.0/24'   => ipl('FR'),
	'2001:db8:1::/48' => ipl('CN'),
	'2001:db8:2::/48' => ipl('US'),
	'2001:db8:3::/48' => ipl('IR'),
	'2001:db8:4::/48' => ipl('FR'),
	'2001:db8:5::/48' => ipl('CN'),
	'198.18.0.0/24'   => ipl('US'),
	'2001:db8:6::/48' => ipl('US'),
]);

write_db('test-asn.mmdb', 'GeoLite2-ASN', 1, [
	'198.51.100.0/24' => { autonomous_system_number => 64496,
			       autonomous_system_organization => 'Example Net' },
	'203.0.113.0/24'  => { autonomous_system_number => 64497,
			       autonomous_system_organization => 'Example Two' },
]);
