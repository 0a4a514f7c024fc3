#!/usr/bin/env bash
# bench/run.sh: time egressfence's offline audit against the floor (libpcap
# reading the same file, bench/rawread) and against Debian's ndpiReader.
#
# The corpus is bench-base.pcap from the shared captures multiplied by
# bench/mkcorpus (20 copies, about 2 million packets, each copy's addresses
# moved so its flows are new); it is built into bench/corpus/ (gitignored)
# when missing or older than mkcorpus. If bench/corpus/longflow.pcap exists
# (bench/record-longflow.sh records it), the same set runs on it too.
# Each row gives packets/s and Gbit/s: the captured bytes of the packets
# (rawread's sum of the records' lengths) times 8 over the wall time.
#
# Every tool runs once per round and the rounds alternate the tools, so drift
# in the machine hits them all alike; the table shows the median wall time and
# the highest peak RSS over the rounds. The file is read once beforehand so
# every round reads it from the page cache.
#
# Usage: bench/run.sh [--rounds N] [--copies N] [--quick]
#   --quick   2 copies, 1 round: a smoke run for CI; results go to
#             bench/out/RESULTS.md instead of bench/RESULTS.md.
# Environment: EF_BUILD_DIR (default build), EF_SHARED_PCAPS (default
# ../shared/pcaps, beside the repository).
set -euo pipefail

cd "$(dirname "$0")/.."

rounds=3
copies=20
quick=0

die() {
	echo "bench: $*" >&2
	exit 1
}

usage() {
	cat <<-'EOF'
	Usage: bench/run.sh [--rounds N] [--copies N] [--quick]
	  --rounds N   rounds per tool, median taken (default 3)
	  --copies N   copies of bench-base.pcap in the corpus (default 20, at most 254)
	  --quick      2 copies, 1 round: a smoke run for CI; results go to
	               bench/out/RESULTS.md instead of bench/RESULTS.md
	Environment: EF_BUILD_DIR (default build), EF_SHARED_PCAPS (default ../shared/pcaps)
	EOF
}

parse_count() { # NAME VALUE MAX
	[[ $2 =~ ^[0-9]+$ ]] && (($2 >= 1 && $2 <= $3)) ||
		die "$1 is not an integer 1-$3: \`$2'"
}

while (($#)); do
	case $1 in
	--rounds)
		(($# >= 2)) || die "--rounds needs a number"
		parse_count --rounds "$2" 99
		rounds=$2
		shift 2
		;;
	--copies)
		(($# >= 2)) || die "--copies needs a number"
		parse_count --copies "$2" 254
		copies=$2
		shift 2
		;;
	--quick)
		quick=1
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		usage >&2
		die "unknown option \`$1'"
		;;
	esac
done
if ((quick)); then
	rounds=1
	copies=2
fi

build_dir=${EF_BUILD_DIR:-build}
shared_pcaps=${EF_SHARED_PCAPS:-../shared/pcaps}
base_pcap=$shared_pcaps/bench-base.pcap
out_dir=bench/out
corpus_dir=bench/corpus
results=bench/RESULTS.md
((quick)) && results=$out_dir/RESULTS.md
mkdir -p "$out_dir" "$corpus_dir"

command -v /usr/bin/time >/dev/null || die "/usr/bin/time is missing: apt-get install time"
command -v ndpiReader >/dev/null || die "ndpiReader is missing: apt-get install libndpi-bin"

if [[ ! -f $base_pcap ]]; then
	# CI clones the repository with shared/ beside it; elsewhere it may be absent.
	if ((quick)); then
		echo "bench: SKIP: no base capture at $base_pcap (set EF_SHARED_PCAPS)"
		exit 0
	fi
	die "no base capture at $base_pcap (set EF_SHARED_PCAPS to the shared pcaps folder)"
fi

# --- build ------------------------------------------------------------------

echo "bench: building in $build_dir (RelWithDebInfo, no sanitizers)"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEF_SANITIZE=OFF \
	>"$out_dir/cmake-configure.log" 2>&1 ||
	die "cmake configure failed; see $out_dir/cmake-configure.log"
cmake --build "$build_dir" --target mkcorpus rawread nft_latency >"$out_dir/build-tools.log" 2>&1 ||
	die "building mkcorpus and rawread failed; see $out_dir/build-tools.log"
mkcorpus=$build_dir/bench/mkcorpus
rawread=$build_dir/bench/rawread
egressfence=$build_dir/egressfence

# egressfence is optional while it is being written: its rows are skipped with
# a note rather than failing the whole benchmark.
ef_note=
policy=policy/default.yaml
if ! cmake --build "$build_dir" --target egressfence >"$out_dir/build-egressfence.log" 2>&1; then
	ef_note="egressfence did not build (see $out_dir/build-egressfence.log); its rows are skipped."
elif ! { "$egressfence" audit --help >/dev/null 2>&1 ||
	"$egressfence" --help 2>&1 | grep -qw audit; }; then
	ef_note="$egressfence has no \`audit' command yet; its rows are skipped."
elif [[ ! -f $policy ]]; then
	ef_note="$policy is missing; egressfence rows are skipped."
fi
[[ -n $ef_note ]] && echo "bench: NOTE: $ef_note"

# The same engine without the whole-flow check (classify/verify.c, compiled
# out with EF_NO_VERIFY), in a build of its own: its cost is the ratio of
# the two single-worker times in the same rounds.  Never shipped.
nowatch_dir=$build_dir-nowatch
egressfence_nowatch=$nowatch_dir/egressfence
if [[ -z $ef_note ]]; then
	cmake -S . -B "$nowatch_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEF_SANITIZE=OFF \
		-DCMAKE_C_FLAGS=-DEF_NO_VERIFY >"$out_dir/cmake-nowatch.log" 2>&1 &&
		cmake --build "$nowatch_dir" --target egressfence >"$out_dir/build-nowatch.log" 2>&1 ||
		die "building egressfence without the whole-flow check failed; see $out_dir/build-nowatch.log"
fi

# --- corpus -----------------------------------------------------------------

corpus=$corpus_dir/bench-x$copies.pcap
if [[ ! -f $corpus || $corpus -ot $mkcorpus || $corpus -ot $base_pcap ]]; then
	echo "bench: building $corpus ($copies copies of $base_pcap)"
	"$mkcorpus" -n "$copies" "$base_pcap" "$corpus"
	# Let the new file reach the disk now, not in the middle of a timed run.
	sync
fi

# --- timing -----------------------------------------------------------------

# Runs one timed command; appends "WALL_S PEAK_RSS_KIB" to $out_dir/NAME.times.
# Usage: timed NAME OK_EXIT_CODES STDOUT_FILE COMMAND...
timed() {
	local name=$1 ok_codes=$2 stdout=$3 rc=0
	shift 3
	/usr/bin/time -f '%e %M' -o "$out_dir/$name.time" "$@" >"$stdout" 2>"$out_dir/$name.stderr" || rc=$?
	if [[ " $ok_codes " != *" $rc "* ]]; then
		echo "bench: FAILED: \`$*' exited $rc (expected $ok_codes); stderr:" >&2
		tail -n 20 "$out_dir/$name.stderr" >&2
		exit 1
	fi
	# GNU time puts "Command exited with non-zero status N" before the figures.
	tail -n 1 "$out_dir/$name.time" >>"$out_dir/$name.times"
}

median() { # one number per line on stdin
	sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# The per-flow verdicts of one JSON output, as "COUNT VERDICT" lines; works for
# one object per line and for pretty-printed arrays alike.
verdict_counts() {
	grep -o '"verdict"[[:space:]]*:[[:space:]]*"[^"]*"' "$1" | sed 's/.*"\([^"]*\)"$/\1/' |
		sort | uniq -c | awk '{ print $1, $2 }'
}

check_verdicts() { # LABEL JSON_W1 JSON_W2
	local w1 w2
	w1=$(verdict_counts "$2")
	w2=$(verdict_counts "$3")
	if [[ -z $w1 ]]; then
		echo "bench: FAILED: $1: no \"verdict\" fields in $2; did the JSON format change?" >&2
		exit 1
	fi
	if [[ $w1 != "$w2" ]]; then
		{
			echo "bench: FAILED: $1: per-flow verdict counts differ between --workers 1 and 2"
			echo "--workers 1:"
			echo "$w1"
			echo "--workers 2:"
			echo "$w2"
		} >&2
		exit 1
	fi
	echo "$w1" >"$out_dir/$1.verdicts"
}

# Runs the whole set on one capture and appends its section to $out_dir/sections.md.
bench_corpus() { # LABEL CAPTURE
	local label=$1 capture=$2 round tools tool
	local packets bytes flows size_mib rows ef_rows_note=
	tools="rawread ndpiReader"
	[[ -z $ef_note ]] && tools="rawread egressfence-w1 egressfence-w1-nowatch egressfence-w2 ndpiReader"
	# Leftovers of an earlier run must not pass for this one's output.
	rm -f "$out_dir/$label"-* "$out_dir/$label.verdicts"

	echo "bench: $label: warming the page cache with $capture"
	cat "$capture" >/dev/null
	for ((round = 1; round <= rounds; round++)); do
		echo "bench: $label: round $round of $rounds"
		for tool in $tools; do
			case $tool in
			rawread)
				timed "$label-$tool" 0 "$out_dir/$label-rawread.out" "$rawread" "$capture"
				;;
			egressfence-w1 | egressfence-w2)
				# audit exits 1 when it blocked or logged something: a result, not an error;
				# 2 when frames of a protocol it cannot read were in the capture
				# (bench-base.pcap has 68 frames of ethertype 0x890d a copy): the
				# audit is incomplete there, and the run still times all the rest.
				timed "$label-$tool" "0 1 2" "$out_dir/$label-$tool.out" \
					"$egressfence" audit --config "$policy" --workers "${tool#egressfence-w}" \
					--json "$out_dir/$label-$tool.json" "$capture"
				;;
			egressfence-w1-nowatch)
				timed "$label-$tool" "0 1 2" "$out_dir/$label-$tool.out" \
					"$egressfence_nowatch" audit --config "$policy" --workers 1 \
					--json "$out_dir/$label-$tool.json" "$capture"
				;;
			ndpiReader)
				# verbose level 0 (the default) prints no flow list, only a
				# summary of about 25 KB; it also gives the flow count.
				timed "$label-$tool" 0 "$out_dir/$label-ndpiReader.out" ndpiReader -i "$capture"
				;;
			esac
		done
		if [[ -z $ef_note ]]; then
			check_verdicts "$label" "$out_dir/$label-egressfence-w1.json" \
				"$out_dir/$label-egressfence-w2.json"
		fi
	done

	packets=$(awk '{ print $1; exit }' "$out_dir/$label-rawread.out")
	# The captured bytes of every record (rawread's sum of caplen): what
	# each tool had to read, for Gbit/s beside packets/s.
	bytes=$(awk '{ print $3; exit }' "$out_dir/$label-rawread.out")
	[[ $bytes =~ ^[0-9]+$ ]] || die "$label: rawread printed no byte count: $(head -c 200 "$out_dir/$label-rawread.out")"
	flows=$(awk -F: '/Unique flows/ { gsub(/[[:space:]]/, "", $2); print $2 }' \
		"$out_dir/$label-ndpiReader.out")
	size_mib=$(($(stat -c %s "$capture") / 1048576))

	declare -A wall rss
	for tool in $tools; do
		wall[$tool]=$(awk '{ print $1 }' "$out_dir/$label-$tool.times" | median)
		rss[$tool]=$(awk '{ print $2 }' "$out_dir/$label-$tool.times" | sort -g | tail -n 1)
	done

	rows=$(for tool in $tools; do
		case $tool in
		rawread) shown="rawread (libpcap floor)" ;;
		egressfence-w1) shown="egressfence audit --workers 1" ;;
		egressfence-w1-nowatch) shown="... --workers 1 without the whole-flow check (bench build)" ;;
		egressfence-w2) shown="egressfence audit --workers 2" ;;
		ndpiReader) shown="ndpiReader -i (nDPI $ndpi_version)" ;;
		esac
		awk -v tool="$shown" -v p="$packets" -v b="$bytes" -v w="${wall[$tool]}" -v r="${rss[$tool]}" \
			-v nw="${wall[ndpiReader]}" -v rw="${wall[rawread]}" 'BEGIN {
				# /usr/bin/time has 10 ms resolution; keep a zero from dividing.
				if (w < 0.01) w = 0.01; if (nw < 0.01) nw = 0.01; if (rw < 0.01) rw = 0.01
				printf "| %s | %.0f | %.2f | %.2f | %.0f | %.2f | %.1f |\n",
					tool, p / w, b * 8 / w / 1e9, w, r / 1024, (p / w) / (p / nw), w / rw
			}'
	done)
	[[ -n $ef_note ]] && ef_rows_note="Note: $ef_note"

	{
		echo "## $label"
		echo
		echo "\`$capture\`: $packets packets, $flows flows (as ndpiReader counts them), $size_mib MiB ($bytes bytes of packet data)."
		echo
		echo "| tool | packets/s | Gbit/s | wall s (median) | peak RSS MiB | rate vs ndpiReader | time vs rawread |"
		echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
		echo "$rows"
		echo
		if [[ -n $ef_rows_note ]]; then
			echo "$ef_rows_note"
			echo
		else
			awk -v a="${wall[egressfence-w1]}" -v b="${wall[egressfence-w1-nowatch]}" 'BEGIN {
				printf "The whole-flow encryption check costs %+.1f%% of audit time (--workers 1, %.2f s against %.2f s without it, medians of the same rounds).\n\n", (a / b - 1) * 100, a, b }'
			echo "Per-flow verdicts, identical for --workers 1 and 2 in every round:"
			echo "$(awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 } END { print "" }' \
				"$out_dir/$label.verdicts")."
			echo
		fi
	} >>"$out_dir/sections.md"

	echo
	echo "$label: $packets packets, $flows flows (ndpiReader)"
	echo "| tool | packets/s | Gbit/s | wall s (median) | peak RSS MiB | rate vs ndpiReader | time vs rawread |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
	echo "$rows"
	[[ -n $ef_rows_note ]] && echo "$ef_rows_note"
	echo
}

ndpi_version=$(ndpiReader -h 2>&1 | sed -n 's/.*nDPI \([0-9][0-9.]*\).*/\1/p' | head -n 1)

# Whether the tree matches HEAD, RESULTS.md aside, since it is written here.
revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ $revision != unknown && -n $(git status --porcelain -- . ":!$results" 2>/dev/null) ]]; then
	revision=$revision-dirty
fi

rm -f "$out_dir/sections.md"
bench_corpus "bench-x$copies" "$corpus"
if [[ -f $corpus_dir/longflow.pcap ]]; then
	bench_corpus longflow "$corpus_dir/longflow.pcap"
else
	echo "bench: no $corpus_dir/longflow.pcap (bench/record-longflow.sh records it); long-flow section skipped"
fi

# The control plane (issue 3's kernel side): prefilter load time and the
# latency from a verdict to its set element being live, as root only.
if [[ $(id -u) == 0 && -x $build_dir/bench/nft_latency ]] && ((!quick)); then
	{
		echo "## Control plane (nftables)"
		echo
		echo "\`$build_dir/bench/nft_latency --config policy/default.yaml --mode M --decisions 2000\`, in a"
		echo "network namespace of its own; the real default database and policy."
		echo
		for mode in monitor gate; do
			echo "### $mode mode"
			echo
			echo '```'
			"$build_dir/bench/nft_latency" --config policy/default.yaml --mode "$mode" --decisions 2000 2>&1 |
				tail -n 12
			echo '```'
			echo
		done
	} >>"$out_dir/sections.md"
else
	echo "bench: control-plane section skipped (needs root and $build_dir/bench/nft_latency)"
fi

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
mem_gib=$(awk '/^MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)
os=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME" || uname -sr)

{
	echo "# Benchmark results"
	echo
	echo "Written by \`bench/run.sh$( ((quick)) && echo " --quick")\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit \`$revision\`."
	echo
	echo "- Machine: $(nproc) cores, $cpu, $mem_gib GiB memory; $os."
	echo "- Build: RelWithDebInfo (\`$build_dir\`); ndpiReader $ndpi_version from Debian's libndpi-bin."
	echo "- Method: $rounds round(s), each running every tool once in turn on a capture already in"
	echo "  the page cache; wall time is the median over the rounds and peak RSS the highest, both"
	echo "  from \`/usr/bin/time -f '%e %M'\`. Packets/s is the capture's packet count (from rawread)"
	echo "  over wall time, process start and exit included; Gbit/s is the captured bytes of its"
	echo "  packets (the sum of the records' lengths, from rawread) times 8 over the same wall time."
	echo "- rawread reads every packet with libpcap's \`pcap_next_ex\` and nothing else: the floor for"
	echo "  any tool reading the file. ndpiReader runs as \`ndpiReader -i FILE\` (no flow list, a"
	echo "  summary to a file); \`-q\` takes the same time but hides the flow count."
	echo
	cat "$out_dir/sections.md"
} >"$results"

echo "bench: wrote $results"
