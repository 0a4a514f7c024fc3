// output/map/make-world-map.mjs -- turns the pinned @svg-maps/world package
// (installed by `npm ci` in this folder) into world-map.txt, the data file
// output/worldmap.c reads when it draws the report's world view.
//
//   node make-world-map.mjs PACKAGE_DIR OUT_FILE
//
// The output is line-based text, one country shape a line, so the C reader
// needs no JSON or XML parser:
//
//   egressfence-world-map 1
//   viewbox 0 0 10100 6660
//   attribution <text the licence asks for>
//   CC<TAB>name<TAB>path
//
// Invariants kept for the reader: CC is two capital letters (ISO 3166
// alpha-2; the package's "um-dq"-style parts of UM become UM, and ids that
// are not two letters are dropped); a path holds only "m", "z", digits,
// "-" and spaces; a name only printable characters without tabs.
//
// Coordinates are scaled by 10 and rounded to integers (0.1 units of the
// package's 1010 x 666 view box, a tenth of a pixel at the page's size).
// Each relative move is taken from the rounded position the renderer will
// be at, so rounding never accumulates along a border, and points closer
// than TOLERANCE to the last one kept are dropped (a country that would
// lose every point keeps them all): the package's 1.2 MB of paths become
// about 150 KB.
import { readFileSync, writeFileSync, renameSync } from "node:fs";
import { join } from "node:path";

const [pkgDir, out] = process.argv.slice(2);
if (!pkgDir || !out) {
	console.error("usage: node make-world-map.mjs PACKAGE_DIR OUT_FILE");
	process.exit(2);
}
const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
const text = readFileSync(join(pkgDir, "index.js"), "utf8")
	.replace(/^\s*export default\s*/, "")
	.replace(/;?\s*$/, "");
const map = JSON.parse(text);
const vb = map.viewBox.split(/\s+/).map(Number);
if (vb.length !== 4 || vb.some((v) => !Number.isFinite(v)))
	throw new Error(`unexpected viewBox ${map.viewBox}`);

const SCALE = 10;
// A point closer than this (in tenths of a unit) to the last one kept is
// dropped: under 0.8 px at the page's size (900 px for 1010 units).
const TOLERANCE = 8;

// The package's paths use relative "m" (with implicit line-tos) and "z" only.
function convert(d, tolerance) {
	const tokens = d.match(/[mMzZ]|-?(?:\d+\.?\d*|\.\d+)(?:e-?\d+)?/g);
	let out = "", absX = 0, absY = 0, startX = 0, startY = 0;
	let outX = 0, outY = 0, outStartX = 0, outStartY = 0;
	let i = 0, cmd = null, first = false, points = 0;
	while (i < tokens.length) {
		const t = tokens[i];
		if (t === "z" || t === "Z") {
			out += "z";
			absX = startX, absY = startY;
			outX = outStartX, outY = outStartY;
			i++;
			continue;
		}
		if (t === "m" || t === "M") {
			cmd = t;
			first = true;
			i++;
			continue;
		}
		if (cmd !== "m")
			throw new Error(`unexpected path command ${cmd} in ${d.slice(0, 40)}`);
		const dx = Number(tokens[i]), dy = Number(tokens[i + 1]);
		i += 2;
		absX += dx, absY += dy;
		const rx = Math.round(absX * SCALE), ry = Math.round(absY * SCALE);
		const ox = rx - outX, oy = ry - outY;
		if (first) {
			out += `m${ox} ${oy}`.replace(/ -/g, "-");
			startX = absX, startY = absY;
			outStartX = rx, outStartY = ry;
			first = false;
		} else if ((ox || oy) && Math.hypot(ox, oy) >= tolerance) {
			out += (ox < 0 ? `${ox}` : ` ${ox}`) + (oy < 0 ? `${oy}` : ` ${oy}`);
			points++;
		}
		else
			continue; /* too close to the last point kept: not drawn */
		outX = rx, outY = ry;
	}
	return points ? out : "";
}

const shapes = new Map();
for (const loc of map.locations) {
	let id = String(loc.id).toUpperCase();
	if (/^UM-/.test(id))
		id = "UM";
	if (!/^[A-Z]{2}$/.test(id))
		continue;
	// a country too small for the tolerance keeps every point it has
	const d = convert(loc.path, TOLERANCE) || convert(loc.path, 0);
	if (!d)
		continue;
	const name = String(id === "UM" ? "United States Minor Outlying Islands" : loc.name)
		.replace(/[\t\r\n]/g, " ").replace(/[^\x20-\x7e\u00a0-\uffff]/g, "");
	const prev = shapes.get(id);
	shapes.set(id, prev ? { name, d: prev.d + d } : { name, d });
}
let body = "egressfence-world-map 1\n";
body += `viewbox ${vb.map((v) => Math.round(v * SCALE)).join(" ")}\n`;
body += `attribution Country shapes: \u201c${map.label}\u201d by Victor Cazanave (npm ${pkg.name} ${pkg.version}), ` +
	`licensed CC BY 4.0, creativecommons.org/licenses/by/4.0/; coordinates rounded by egressfence.\n`;
for (const [id, s] of [...shapes].sort())
	body += `${id}\t${s.name}\t${s.d}\n`;
writeFileSync(out + ".partial", body);
renameSync(out + ".partial", out);
