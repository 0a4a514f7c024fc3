/*
 * geodb/regions.c -- ISO 3166-2 subdivision codes: packing "UA-43" into an
 * ef_region, and the table that turns ip-location-db's English subdivision
 * names (its `state1') into codes.
 *
 * The table holds only the subdivisions that export-control and sanctions
 * texts name (EAR 746.6's Crimea and the covered regions of Donetsk and
 * Luhansk; the EU's and UK's non-government-controlled areas, which add
 * Zaporizhzhia and Kherson), under every spelling the databases in use are
 * known to give.  A name that is not in it is no region (0), and `lookup'
 * says so: a rule naming a region never matches an address whose database
 * spells the name some other way, so add the spelling here when one shows up.
 * Names compare case-insensitively, as whole strings, for records placed in
 * UA or RU (see geodb_region_by_name()).
 */
#include "geodb.h"

#include <string.h>
#include <strings.h>

static int code_digit(char c)
{
	if (c >= '0' && c <= '9')
		return 1 + (c - '0');
	if (c >= 'a' && c <= 'z')
		c = (char)(c - 32);
	if (c >= 'A' && c <= 'Z')
		return 11 + (c - 'A');
	return -1;
}

ef_region ef_region_parse(const char *s)
{
	size_t len = strlen(s);
	uint32_t code = 0;

	if (len < 4 || len > 6 || s[2] != '-')
		return 0;
	ef_country cc = ef_country_make(s);
	if (cc == EF_COUNTRY_NONE)
		return 0;
	for (size_t i = 3; i < len; i++) {
		int d = code_digit(s[i]);
		if (d < 0)
			return 0;
		code = code * 37 + (uint32_t)d;
	}
	return (uint32_t)cc << 16 | code;
}

void ef_region_str(ef_region r, char out[8])
{
	static const char digits[] = "?0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	char rev[3];
	size_t n = 0;
	uint32_t code = r & 0xffff;

	if (!r) {
		out[0] = 0;
		return;
	}
	ef_country_str(ef_region_country(r), out);
	out[2] = '-';
	while (code && n < 3) {
		rev[n++] = digits[code % 37];
		code /= 37;
	}
	for (size_t i = 0; i < n; i++)
		out[3 + i] = rev[n - 1 - i];
	out[3 + n] = 0;
}

static const struct {
	const char *name;
	const char *code;
} names[] = {
	/* Crimea: DB-IP and ip-location-db's city files, Wikidata's and
	 * GeoNames' English names, and the transliterations of Krym. */
	{"Crimea", "UA-43"},
	{"Autonomous Republic of Crimea", "UA-43"},
	{"Republic of Crimea", "UA-43"},
	{"Crimea Autonomous Republic", "UA-43"},
	{"Avtonomna Respublika Krym", "UA-43"},
	{"Krym", "UA-43"},
	{"Sebastopol City", "UA-40"},
	{"Sevastopol City", "UA-40"},
	{"Sevastopol", "UA-40"},
	{"Sebastopol", "UA-40"},
	{"Donetsk", "UA-14"},
	{"Donetsk Oblast", "UA-14"},
	{"Donetska Oblast", "UA-14"},
	{"Donets'ka Oblast'", "UA-14"},
	{"Luhansk", "UA-09"},
	{"Luhansk Oblast", "UA-09"},
	{"Luhanska Oblast", "UA-09"},
	{"Luhans'ka Oblast'", "UA-09"},
	{"Lugansk", "UA-09"},
	{"Lugansk Oblast", "UA-09"},
	{"Zaporizhzhia", "UA-23"},
	{"Zaporizhzhia Oblast", "UA-23"},
	{"Zaporizhia Oblast", "UA-23"},
	{"Zaporiz'ka Oblast'", "UA-23"},
	{"Zaporozhye", "UA-23"},
	{"Kherson", "UA-65"},
	{"Kherson Oblast", "UA-65"},
	{"Khersonska Oblast", "UA-65"},
	{"Khersons'ka Oblast'", "UA-65"},
};

/*
 * Every name in the table is of a region of Ukraine that Russia claims, and
 * databases disagree on whose it is: DB-IP Lite city (June 2026) has 165
 * "Crimea" and 42 "Sebastopol City" IPv4 networks under RU, 2 and 6 under
 * UA, and "Luhansk" under both.  The region is the same either way, so a
 * name counts under UA or RU, and the region keeps its ISO code (UA-43);
 * the record's country stays what the database says.
 */
ef_region geodb_region_by_name(ef_country cc, const char *name, size_t len)
{
	if (cc != ef_country_make("UA") && cc != ef_country_make("RU"))
		return 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == len && !strncasecmp(names[i].name, name, len))
			return ef_region_parse(names[i].code);
	return 0;
}
