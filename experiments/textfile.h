/* textfile.h - two small text helpers the front end shares: a whole file
 * read into a string, and a command line joined back into one (for the run
 * log's and the sweep manifest's record of how they were made).
 */
#ifndef SACCADE_EXPERIMENTS_TEXTFILE_H
#define SACCADE_EXPERIMENTS_TEXTFILE_H

/* The whole file at path, NUL-terminated, malloc'd (caller frees); NULL with
 * errno set when it cannot be opened or read, or memory runs out. */
char *sc_read_text(const char *path);

/* argv[0..argc-1] joined by spaces, each argument with a space, quote or
 * shell character single-quoted (so that a shell reads it back), malloc'd;
 * NULL when out of memory. */
char *sc_join_args(int argc, char **argv);

#endif
