/*
 * cli/about.h -- what egressfence says about itself: `version', `help
 * COMMAND', and the databases `check' opened.  Nothing here is on a packet
 * path; main.c calls these and returns what they return as the exit code.
 */
#ifndef EF_CLI_ABOUT_H
#define EF_CLI_ABOUT_H

#include <stdio.h>

struct policy;
struct geodb;

/* `egressfence version': version, commit, libraries, default database. 0. */
int about_version(FILE *out);
/* `egressfence help [COMMAND]': the general usage, or one command's options
 * and exit codes; 2 and a message for a command that does not exist. */
int about_help(const char *command, const char *general_usage, FILE *out);
/* One YAML comment line per database db has open (path, type, build date),
 * so that `check' output stays a valid policy. */
void about_databases(const struct geodb *db, FILE *out);

#endif
