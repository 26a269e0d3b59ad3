/* version.h - force-included (-include) into the front end: the commit the
 * binary was built from, as a string variable written at build time by
 * cmake/version.cmake (so it never goes stale between configure runs). */
#ifndef SACCADE_CMAKE_VERSION_H
#define SACCADE_CMAKE_VERSION_H
extern const char sc_git_commit[];
#define SACCADE_GIT_COMMIT sc_git_commit
#endif
