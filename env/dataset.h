/* dataset.h - image datasets (MNIST, Fashion-MNIST, or a user's own in IDX,
 * HDF5 or a folder of PNGs), splits and minibatches.
 *
 * Images stay bytes (uint8, row-major h x w x c, channels interleaved: c = 1
 * grey, 3 RGB) until a canvas is built for a batch; labels are small ints
 * below the dataset's classes (at most 256), which have names. The validation
 * set is a held-out slice of the training file chosen by a seeded
 * permutation; train and validation never overlap. Indices everywhere refer
 * to images of the split's source (train file for train/val, test file for
 * test).
 *
 * The formats (sc_data_spec; docs/usage.md "Your own data"):
 *   SC_DATA_MNIST_DIR  dir/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
 *                      (MNIST, Fashion-MNIST), a declared class count
 *   SC_DATA_IDX        four IDX files, raw or gzipped: images (n, h, w) or
 *                      (n, h, w, c), c = 1 or 3; labels (n)
 *   SC_DATA_HDF5       one HDF5 file: images (n, h, w) or (n, h, w, c) uint8,
 *                      labels (n) integers, at four dataset paths (default
 *                      /train/images, /train/labels, /test/images,
 *                      /test/labels); class names from a class_names
 *                      attribute of the root or a /class_names dataset
 *   SC_DATA_FOLDER     dir/train/<class>/<*.png>, dir/test/<class>/<*.png>:
 *                      classes are the train folders in sorted order (byte
 *                      order of their names), grey or RGB PNGs of one size
 * Without names in the data, the classes are 0..max (the largest training
 * label) named by their numbers; every label is checked against the classes.
 * On any error nothing is allocated and the message names the file (and the
 * item, dataset or entry) and what was expected.
 */
#ifndef SACCADE_ENV_DATASET_H
#define SACCADE_ENV_DATASET_H

#include <stddef.h>
#include <stdint.h>
#include "../nets/err.h"
#include "../nets/rng.h"

#define SC_CLASSES_MAX 256      /* labels are bytes */
#define SC_CLASS_NAME_MAX 64    /* bytes of a class name, with its NUL */

typedef struct sc_images {
    int n, h, w;        /* count and image size */
    uint8_t *pix;       /* n*h*w*c bytes (channels interleaved), owned */
    uint8_t *labels;    /* n bytes, owned */
    int num_classes;    /* the dataset's declared classes; every label is below it */
    int c;              /* channels: 1 (grey) or 3 (RGB); 0 is read as 1 */
} sc_images;

/* Channels of im: im->c, or 1 when it is 0. */
static inline int sc_images_channels(const sc_images *im) { return im->c > 0 ? im->c : 1; }

/* Loads an image IDX file and its label IDX file (raw or gz) of a dataset of
 * num_classes classes (0: up to 256, the caller settles the classes). Images
 * are (n, h, w) or (n, h, w, c) with c = 1 or 3. Errors name the file: images
 * not 3-D or 4-D or labels not 1-D (from the magic, before any data is read),
 * other channel counts, image/label count mismatch, a label outside
 * 0..num_classes-1 (with its item). */
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
    char (*class_names)[SC_CLASS_NAME_MAX];  /* num_classes names, owned (sc_dataset_open) */
} sc_dataset;

typedef enum { SC_DATA_MNIST_DIR = 0, SC_DATA_IDX = 1, SC_DATA_HDF5 = 2, SC_DATA_FOLDER = 3 } sc_data_format;

/* Where a dataset's files are, and what is known of it beforehand. */
typedef struct sc_data_spec {
    sc_data_format format;
    const char *dir;            /* MNIST_DIR: the folder of the four files; FOLDER: the root holding
                                 * train/ and test/ */
    const char *file;           /* HDF5: the file */
    const char *paths[4];       /* train images, train labels, test images, test labels: IDX the
                                 * files; HDF5 the datasets in file (NULL or "": the defaults) */
    int num_classes;            /* MNIST_DIR: the declared classes (10) */
    const char *const *names;   /* MNIST_DIR: their names (NULL: "0", "1", ...) */
} sc_data_spec;

/* Loads the dataset spec describes and holds out n_val training images as the
 * validation set (sc_dataset_from_images). ds->class_names are set. */
int sc_dataset_open(sc_dataset *ds, const sc_data_spec *spec, int n_val, uint64_t seed, sc_err *err);

/* Loads dir/{train,t10k}-{images-idx3,labels-idx1}-ubyte, each either raw or
 * with a .gz suffix (raw preferred). Holds out n_val training images as the
 * validation set, chosen by a permutation seeded by `seed` (n_val in [0, n-1]).
 * Labels must be below num_classes (sc_images_load). Errors name the missing
 * file and list the names tried. Class names are not set (sc_dataset_open
 * sets them). */
int sc_dataset_load(sc_dataset *ds, const char *dir, int num_classes, int n_val, uint64_t seed,
                    sc_err *err);
/* Same, from already-loaded images (takes ownership of train and test), which
 * must agree in size and channels. */
int sc_dataset_from_images(sc_dataset *ds, sc_images *train, sc_images *test, int n_val,
                           uint64_t seed, sc_err *err);
void sc_dataset_free(sc_dataset *ds); /* accepts NULL */

/* Name of class k ("3" when the dataset has no names). */
const char *sc_dataset_class_name(const sc_dataset *ds, int k, char *buf, size_t n);

/* The format loaders behind sc_dataset_open (env/h5data.c, env/pngdir.c):
 * each fills train and test (labels checked against the classes) and, when
 * the data name them, *names (malloc'ed, *nnames entries; NULL otherwise). */
int sc_images_load_h5(sc_images *train, sc_images *test, char (**names)[SC_CLASS_NAME_MAX], int *nnames,
                      const char *file, const char *const paths[4], sc_err *err);
int sc_images_load_folder(sc_images *train, sc_images *test, char (**names)[SC_CLASS_NAME_MAX], int *nnames,
                          const char *dir, sc_err *err);

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
