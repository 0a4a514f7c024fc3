/*
 * enforce/countries.c -- which two-letter codes are countries.
 *
 * The assigned ISO 3166-1 alpha-2 codes (249, unchanged since BQ/CW/SX in
 * 2010 and SS in 2011; checked against Debian iso-codes 4.15.0), plus XK,
 * the user-assigned code that RIR data and most geolocation databases use
 * for Kosovo.  Reserved codes (UK, EU, AP, ...) are not countries: a policy
 * naming one would never match anything a database returns, so the loader
 * refuses it.
 *
 * Each row lists the second letters valid after one first letter, so a
 * lookup is one strchr() on a constant string: no table to build, nothing
 * to initialise, safe from any thread.
 */
#include "enforce.h"

#include <string.h>

static const char *const second_letters[26] = {
	['A' - 'A'] = "DEFGILMOQRSTUWXZ",
	['B' - 'A'] = "ABDEFGHIJLMNOQRSTVWYZ",
	['C' - 'A'] = "ACDFGHIKLMNORUVWXYZ",
	['D' - 'A'] = "EJKMOZ",
	['E' - 'A'] = "CEGHRST",
	['F' - 'A'] = "IJKMOR",
	['G' - 'A'] = "ABDEFGHILMNPQRSTUWY",
	['H' - 'A'] = "KMNRTU",
	['I' - 'A'] = "DELMNOQRST",
	['J' - 'A'] = "EMOP",
	['K' - 'A'] = "EGHIMNPRWYZ",
	['L' - 'A'] = "ABCIKRSTUVY",
	['M' - 'A'] = "ACDEFGHKLMNOPQRSTUVWXYZ",
	['N' - 'A'] = "ACEFGILOPRUZ",
	['O' - 'A'] = "M",
	['P' - 'A'] = "AEFGHKLMNRSTWY",
	['Q' - 'A'] = "A",
	['R' - 'A'] = "EOSUW",
	['S' - 'A'] = "ABCDEGHIJKLMNORSTVXYZ",
	['T' - 'A'] = "CDFGHJKLMNORTVWZ",
	['U' - 'A'] = "AGMSYZ",
	['V' - 'A'] = "ACEGINU",
	['W' - 'A'] = "FS",
	['X' - 'A'] = "K", /* Kosovo, user-assigned */
	['Y' - 'A'] = "ET",
	['Z' - 'A'] = "AMW",
};

bool policy_country_is_assigned(ef_country c)
{
	char a = (char)(c >> 8), b = (char)(c & 0xff);

	if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z')
		return false;
	return strchr(second_letters[a - 'A'], b) != NULL;
}
