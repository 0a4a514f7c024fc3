#!/usr/bin/env bash
# tests/e2e_package.sh -- the Debian package and `cmake --install` lay out
# the same installation, and the package passes lintian with no error.
#
# The package is built with `dpkg-buildpackage -us -uc -b` in a copy of the
# source tree (the files git tracks or would track, plus the pinned country
# database npm installed), so the build writes nothing into the tree under
# test: no debian/egressfence/, no obj-*/, no .deb beside it.
#
# Checks: egressfence_*.deb holds the binary, the unit, the conffile (the
# default policy, pointing at the packaged database), both man pages, the
# logrotate file; egressfence-country-db_*_all.deb the database; the unit is neither enabled nor started by the
# maintainer scripts; lintian reports no error; `cmake --install` into a
# temporary prefix installs the same files under that prefix; the packaged
# binary's defaults are the installed paths.
set -uo pipefail

src=${EF_SOURCE_DIR:?EF_SOURCE_DIR: the source tree}
build=${EF_BINARY_DIR:?EF_BINARY_DIR: the build tree}
work=$build/tests/package
db=geodb/db/node_modules/@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb

# The package is built from the sources with Debian's flags, whatever this
# build tree is: a sanitizer build (.ci/sanitize.sh) would only build and
# check the same package again, as scripts/test already does.
if grep -q '^EF_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
	echo "e2e_package: skipped: $build is a sanitizer build; the package does not depend on it (scripts/test checks it)"
	exit 77
fi
for tool in dpkg-buildpackage dh lintian scdoc man git; do
	command -v "$tool" >/dev/null ||
		{ echo "e2e_package: skipped: $tool is missing (scripts/setup installs dpkg-dev, debhelper, lintian, scdoc, man-db, git)"; exit 77; }
done
[ -s "$src/$db" ] || { echo "e2e_package: skipped: $src/$db is missing (scripts/setup runs npm ci)"; exit 77; }

failed=0
passed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }

rm -rf "$work"
mkdir -p "$work/tree"
# What git would see: tracked and new files, not ignored ones (no build
# trees); node_modules comes apart, as a real copy of the pinned database.
(cd "$src" && git ls-files -z -c -o --exclude-standard | grep -zv '^geodb/db/node_modules' |
	xargs -0 cp --parents -P -t "$work/tree" 2>/dev/null)
mkdir -p "$work/tree/$(dirname "$db")"
cp -L "$src/$(dirname "$db")"/* "$work/tree/$(dirname "$db")/"
# and the report's pinned world map shapes (npm ci in output/map), likewise
mkdir -p "$work/tree/output/map/node_modules/@svg-maps"
cp -rL "$src/output/map/node_modules/@svg-maps/world" "$work/tree/output/map/node_modules/@svg-maps/" 2>/dev/null
status_before=$(cd "$src" && git status --porcelain --untracked-files=all)

start=$(date +%s)
if (cd "$work/tree" && dpkg-buildpackage -us -uc -b -j2) >"$work/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b built the package in $(($(date +%s) - start)) s"
else
	fail "dpkg-buildpackage failed (last lines of $work/build.log):"
	tail -20 "$work/build.log" | sed 's/^/    /'
	echo "e2e_package: $passed passed, $((failed)) failed"
	exit 1
fi
deb=$(ls "$work"/egressfence_*.deb 2>/dev/null | head -1)
dbdeb=$(ls "$work"/egressfence-country-db_*_all.deb 2>/dev/null | head -1)
[ -n "$deb" ] && [ -n "$dbdeb" ] ||
	{ fail "no egressfence_*.deb and egressfence-country-db_*_all.deb next to the copy: $(ls "$work")"; exit 1; }

[ "$(cd "$src" && git status --porcelain --untracked-files=all)" = "$status_before" ] &&
	ok "the source tree under test is unchanged (git status)" ||
	fail "the package build changed the source tree: $(cd "$src" && git status --porcelain | head -5)"

dpkg-deb -c "$deb" | awk '{print $6}' | sed 's#^\./#/#; s#/$##' | sort >"$work/deb.files"
dpkg-deb -c "$dbdeb" | awk '{print $6}' | sed 's#^\./#/#; s#/$##' | sort >"$work/dbdeb.files"
grep -qx /usr/share/egressfence/country.mmdb "$work/dbdeb.files" &&
	ok "egressfence-country-db holds /usr/share/egressfence/country.mmdb" ||
	fail "egressfence-country-db has no /usr/share/egressfence/country.mmdb"
want=(/usr/bin/egressfence
      /lib/systemd/system/egressfence.service
      /etc/egressfence/policy.yaml
      /usr/share/man/man8/egressfence.8.gz
      /usr/share/man/man5/egressfence.yaml.5.gz
      /etc/logrotate.d/egressfence
      /usr/share/doc/egressfence/copyright
      /usr/share/doc/egressfence/gateway.md
      /usr/share/doc/egressfence/examples/gateway.yaml)
for f in "${want[@]}"; do
	grep -qx "$f" "$work/deb.files" && ok "the package holds $f" || fail "the package has no $f"
done

dpkg-deb -I "$deb" >"$work/info"
grep -q '^ Package: egressfence$' "$work/info" && ok "dpkg-deb -I: package egressfence, $(grep '^ Version:' "$work/info")" ||
	fail "dpkg-deb -I does not name the package egressfence"
grep -Eq '^ Depends: .*egressfence-country-db \(= ' "$work/info" &&
	ok "egressfence depends on the country database of its own version" ||
	fail "egressfence does not depend on egressfence-country-db (=): $(grep '^ Depends:' "$work/info")"
dpkg-deb -I "$dbdeb" | grep '^ Architecture: all$' >/dev/null && ok "egressfence-country-db is Architecture: all" ||
	fail "egressfence-country-db is not Architecture: all"
dpkg-deb -I "$deb" conffiles >"$work/conffiles" 2>/dev/null
grep -qx /etc/egressfence/policy.yaml "$work/conffiles" && ok "/etc/egressfence/policy.yaml is a conffile" ||
	fail "/etc/egressfence/policy.yaml is not a conffile: $(cat "$work/conffiles")"
grep -qx /etc/logrotate.d/egressfence "$work/conffiles" && ok "/etc/logrotate.d/egressfence is a conffile" ||
	fail "/etc/logrotate.d/egressfence is not a conffile"

# The unit is installed, not enabled or started: the postinst invokes
# nothing (the prerm may stop it), and enables it only where the admin had (dh_installsystemd
# --no-enable guards the enable with `debian-installed'; without that the
# first installation enables it).
rm -rf "$work/control" && mkdir "$work/control" && dpkg-deb -e "$deb" "$work/control"
if grep -q 'deb-systemd-invoke' "$work/control/postinst" 2>/dev/null; then
	fail "the postinst starts or restarts the unit: $(grep -h 'deb-systemd-invoke' "$work/control/postinst" | head -1)"
elif grep -q 'deb-systemd-helper enable' "$work/control/postinst" 2>/dev/null &&
	! grep -q 'deb-systemd-helper debian-installed' "$work/control/postinst"; then
	fail "the postinst enables egressfence.service on first installation"
else
	ok "the maintainer scripts neither enable nor start egressfence.service"
fi

# The packaged files themselves: the conffile names the packaged database,
# the binary's defaults are the installed paths, and it opens that database.
rm -rf "$work/root" && dpkg-deb -x "$deb" "$work/root" && dpkg-deb -x "$dbdeb" "$work/root"
grep -Eq '^  country: /usr/share/egressfence/country.mmdb$' "$work/root/etc/egressfence/policy.yaml" &&
	ok "the packaged policy names /usr/share/egressfence/country.mmdb" ||
	fail "the packaged policy's geodb.country: $(grep '  country:' "$work/root/etc/egressfence/policy.yaml")"
cmp -s "$work/root/usr/share/egressfence/country.mmdb" "$src/$db" &&
	ok "the packaged database is the pinned one, byte for byte" || fail "the packaged database differs from $db"
"$work/root/usr/bin/egressfence" version >"$work/version" 2>&1
if grep -q '^default policy: /etc/egressfence/policy.yaml$' "$work/version" &&
	grep -q '^default database: /usr/share/egressfence/country.mmdb' "$work/version"; then
	ok "the packaged binary's defaults are /etc/egressfence/policy.yaml and /usr/share/egressfence/country.mmdb"
else
	fail "the packaged binary's defaults: $(cat "$work/version")"
fi
# With the packaged policy moved next to the packaged database (paths as
# installed), check opens the database.
sed "s#/usr/share/egressfence/#$work/root/usr/share/egressfence/#" "$work/root/etc/egressfence/policy.yaml" >"$work/policy.yaml"
cp "$work/root/etc/egressfence/lists.yaml" "$work/lists.yaml" # the country lists it includes
if "$work/root/usr/bin/egressfence" check --config "$work/policy.yaml" >"$work/check" 2>&1 &&
	grep -q "^# database $work/root/usr/share/egressfence/country.mmdb: .*built " "$work/check"; then
	ok "the packaged binary checks the packaged policy and opens the database"
else
	fail "check of the packaged policy: $(tail -2 "$work/check")"
fi
for page in man8/egressfence.8.gz man5/egressfence.yaml.5.gz; do
	if man -l "$work/root/usr/share/man/$page" 2>"$work/man.err" | grep 'EXIT STATUS\|DESCRIPTION' >/dev/null && ! [ -s "$work/man.err" ]; then
		ok "man renders $page without a warning"
	else
		fail "man $page: $(head -3 "$work/man.err")"
	fi
done
for cmd in audit check lookup run nft verify-log keygen version help; do
	zcat "$work/root/usr/share/man/man8/egressfence.8.gz" | grep "fB$cmd\\\\fR" >/dev/null ||
		fail "egressfence(8) does not document the command $cmd"
done

# The packaged logrotate file, run for real on a copy of the log folder:
# the daemon holds its --json file open for appending; logrotate moves it
# to events.json.1 and creates nothing (the daemon opens a new file at
# SIGHUP, which postrotate sends through `systemctl reload'; here there is
# no unit, and postrotate must not fail the rotation).  What the writer
# still writes before it reopens goes to events.json.1, after the rest.
if command -v logrotate >/dev/null; then
	rm -rf "$work/lr" && mkdir -p "$work/lr/log"
	sed "s#/var/log/egressfence#$work/lr/log#" "$work/root/etc/logrotate.d/egressfence" >"$work/lr/conf"
	exec 3>>"$work/lr/log/events.json"
	echo '{"event":"before"}' >&3
	logrotate -f -s "$work/lr/state" "$work/lr/conf" >"$work/lr/out" 2>&1
	lr_rc=$?
	echo '{"event":"after"}' >&3
	exec 3>&-
	if [ "$lr_rc" = 0 ] && [ "$(cat "$work/lr/log/events.json.1" 2>/dev/null)" = $'{"event":"before"}\n{"event":"after"}' ] &&
		[ ! -e "$work/lr/log/events.json" ]; then
		ok "logrotate with the packaged file: the log moved whole to events.json.1, no new file made for the daemon"
	else
		fail "logrotate with the packaged file (exit $lr_rc): $(head -3 "$work/lr/out"); events.json.1: $(od -c "$work/lr/log/events.json.1" 2>&1 | head -2); events.json: $(ls -l "$work/lr/log/events.json" 2>&1)"
	fi
else
	echo "skipped: logrotate is missing, the packaged logrotate file was not run (scripts/setup installs it)"
fi

lintian --display-info --pedantic --tag-display-limit 0 "$deb" "$dbdeb" >"$work/lintian" 2>&1
lintian_rc=$?
if grep -q '^E: ' "$work/lintian"; then
	fail "lintian reports errors:"
	grep '^E: ' "$work/lintian" | sed 's/^/    /'
elif [ "$lintian_rc" -gt 1 ]; then
	fail "lintian could not run (exit $lintian_rc): $(tail -2 "$work/lintian")"
else
	ok "lintian: no error, $(grep -c '^W: ' "$work/lintian") warnings, $(grep -c '^I: ' "$work/lintian") notes"
	grep '^[WI]: ' "$work/lintian" | sed 's/^/    /'
fi

# `cmake --install --prefix DIR' from a plain configure (no debhelper
# flags) lays out the same files under DIR: the package's paths with /usr
# taken off, man pages and docs uncompressed, less what debhelper adds from
# debian/ (copyright, changelog, README, the logrotate file).
prefix=$work/prefix
if cmake -S "$work/tree" -B "$work/cmake-build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$work/cmake.log" 2>&1 &&
	cmake --build "$work/cmake-build" -j2 --target egressfence_installed man >>"$work/cmake.log" 2>&1 &&
	cmake --install "$work/cmake-build" --prefix "$prefix" >>"$work/cmake.log" 2>&1; then
	ok "cmake --install --prefix $prefix"
else
	fail "cmake --install: $(tail -3 "$work/cmake.log")"
fi
{ dpkg-deb -c "$deb"; dpkg-deb -c "$dbdeb"; } | awk '$1 ~ /^-/ {print $6}' | sed 's#^\./#/#; s#^/usr/#/#; s#\.gz$##' |
	grep -Ev '^/share/doc/egressfence(-country-db)?/(copyright|changelog|README\.md)$|^/etc/logrotate\.d/' |
	sort >"$work/deb.layout"
(cd "$prefix" && find . -type f | sed 's#^\.##' | sort) >"$work/cmake.layout"
if diff "$work/deb.layout" "$work/cmake.layout" >"$work/layout.diff"; then
	ok "cmake --install --prefix installs the package's $(wc -l <"$work/cmake.layout") files under the prefix"
else
	fail "cmake --install and the package differ (< package, > cmake):"
	sed 's/^/    /' "$work/layout.diff"
fi
"$prefix/bin/egressfence" version | grep "^default policy: /usr/local/etc/egressfence/policy.yaml$" >/dev/null &&
	ok "a binary installed with the default prefix reads /usr/local/etc/egressfence/policy.yaml" ||
	fail "installed binary's defaults: $("$prefix/bin/egressfence" version | grep default)"

echo "e2e_package: $passed passed, $failed failed"
[ "$failed" = 0 ]
