/* wrapcount.h - counters behind the linker's --wrap, for the tests that check
 * that a training step allocates nothing, opens no file and starts no thread
 * (test_agent_model.c, test_agent_noalloc.c; CMakeLists.txt links them with
 * --wrap=malloc,calloc,realloc,aligned_alloc,posix_memalign,fopen,pthread_create).
 *
 * Include it once, in the test's .c file: it defines the __wrap_ functions,
 * which count into n_alloc, n_fopen and n_thread (atomically: worker threads
 * allocate too) and then call the real ones. What it is not: a leak checker
 * (frees are not counted) or a count of OpenBLAS's or libc's internal calls
 * that do not go through these symbols.
 */
#ifndef SACCADE_TESTS_WRAPCOUNT_H
#define SACCADE_TESTS_WRAPCOUNT_H

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>

static long n_alloc, n_fopen, n_thread;

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
int __real_posix_memalign(void **p, size_t a, size_t n);
FILE *__real_fopen(const char *path, const char *mode);
int __real_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*f)(void *), void *arg);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t a, size_t n);
int __wrap_posix_memalign(void **p, size_t a, size_t n);
FILE *__wrap_fopen(const char *path, const char *mode);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*f)(void *), void *arg);

static void count(long *c) { __atomic_add_fetch(c, 1, __ATOMIC_RELAXED); }

void *__wrap_malloc(size_t n) { count(&n_alloc); return __real_malloc(n); }
void *__wrap_calloc(size_t k, size_t n) { count(&n_alloc); return __real_calloc(k, n); }
void *__wrap_realloc(void *p, size_t n) { count(&n_alloc); return __real_realloc(p, n); }
void *__wrap_aligned_alloc(size_t a, size_t n) { count(&n_alloc); return __real_aligned_alloc(a, n); }
int __wrap_posix_memalign(void **p, size_t a, size_t n) { count(&n_alloc); return __real_posix_memalign(p, a, n); }
FILE *__wrap_fopen(const char *path, const char *mode) { count(&n_fopen); return __real_fopen(path, mode); }
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*f)(void *), void *arg) {
    count(&n_thread);
    return __real_pthread_create(t, a, f, arg);
}

#endif
