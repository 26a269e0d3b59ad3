/* dataset.h - image datasets (MNIST, Fashion-MNIST), splits and minibatches.
 *
 * Images stay bytes (uint8, row-major h x w) until a canvas is built for a
 * batch; labels are small ints. The validation set is a held-out slice of
 * the training file chosen by a seeded permutation; train and validation
 * never overlap. Indices everywhere refer to images of the split's source
 * (train file for train/val, test file for test).
 */
#ifndef SACCADE_ENV_DATASET_H
#define SACCADE_ENV_DATASET_H

#include <stdint.h>
#include "../nets/err.h"
#include "../nets/rng.h"

typedef struct sc_images {
    int n, h, w;        /* count and image size */
    uint8_t *pix;       /* n*h*w bytes, owned */
    uint8_t *labels;    /* n bytes, owned */
    int num_classes;    /* the dataset's declared classes; every label is below it */
} sc_images;

/* Loads an image IDX file and its label IDX file (raw or gz) of a dataset of
 * num_classes classes. Errors name the file: images not 3-D or labels not 1-D
 * (from the magic, before any data is read), image/label count mismatch, a
 * label outside 0..num_classes-1 (with its item). */
int sc_images_load(sc_images *out, const char *images_path, const char *labels_path, int num_classes,
                   sc_err *err);
void sc_images_free(sc_images *im);   /* accepts NULL */

typedef struct sc_dataset {
    sc_images train;    /* the training file: source of train and val */
    sc_images test;
    int *train_idx; int n_train;   /* indices into train, owned */
    int *val_idx;   int n_val;     /* indices into train, owned, disjoint from train_idx */
    int *test_idx;  int n_test;    /* 0..test.n-1, owned */
    int num_classes;
} sc_dataset;

/* Loads dir/{train,t10k}-{images-idx3,labels-idx1}-ubyte, each either raw or
 * with a .gz suffix (raw preferred). Holds out n_val training images as the
 * validation set, chosen by a permutation seeded by `seed` (n_val in [0, n-1]).
 * Labels must be below num_classes (sc_images_load). Errors name the missing
 * file and list the names tried. */
int sc_dataset_load(sc_dataset *ds, const char *dir, int num_classes, int n_val, uint64_t seed,
                    sc_err *err);
/* Same, from already-loaded images (takes ownership of train and test). */
int sc_dataset_from_images(sc_dataset *ds, sc_images *train, sc_images *test, int n_val,
                           uint64_t seed, sc_err *err);
void sc_dataset_free(sc_dataset *ds); /* accepts NULL */

/* Minibatch iteration over a pool of indices. */
typedef struct sc_batcher {
    const int *pool; int n;   /* not owned */
    int *order;               /* owned, a permutation of pool */
    int pos, B, shuffle;
    uint64_t seed;
} sc_batcher;

int sc_batcher_init(sc_batcher *b, const int *pool, int n, int B, int shuffle,
                    uint64_t seed, sc_err *err);
/* Starts epoch `epoch`: order = pool, shuffled by a generator derived from
 * (seed, epoch) when shuffle is set, so any epoch can be replayed directly. */
void sc_batcher_epoch(sc_batcher *b, int epoch);
/* Copies up to B indices of the next batch into idx; returns the count
 * (the last batch may be short; 0 when the epoch is over). */
int sc_batcher_next(sc_batcher *b, int *idx);
void sc_batcher_free(sc_batcher *b);  /* accepts NULL */

#endif
