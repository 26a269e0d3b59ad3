/* pngdir.c - a dataset as a folder of PNGs: sc_images_load_folder (dataset.h).
 *
 * The layout is torchvision's ImageFolder, split in two:
 *   dir/train/<class>/<image>.png     dir/test/<class>/<image>.png
 * The classes are the folders of dir/train in sorted (byte) order of their
 * names, label k for the k-th; dir/test may lack a class but may not have one
 * that train lacks. In each class folder the files are taken in sorted order
 * of their names (so the dataset does not depend on the file system's
 * order); names starting with '.' are skipped (.DS_Store and the like), and
 * everything else must be a PNG. Images may be grey or colour (palette,
 * 16-bit and alpha are converted by libpng: alpha composited on black); the
 * dataset is RGB when any image is colour (grey ones are then repeated into
 * the three channels), else grey. All images must have one size.
 *
 * Two passes: the first reads every file's header (size, colour) and lists
 * the files, so every error is found before pixels are decoded and the
 * images are allocated once; the second decodes.
 *
 * Errors name the file or folder and what was expected: a missing train/ or
 * test/, a class folder with no images, a file that is not a PNG or cannot be
 * decoded, an image of another size than the first one (both sizes named), a
 * test class that train does not have, a class name too long or holding a
 * control character, or more than 256 classes.
 */
#include "dataset.h"

#include <dirent.h>
#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PNGDIR_PATH_MAX 4096
#define PNGDIR_MAX_IMAGES (1 << 28)

typedef struct name_list {
    char **v;
    int n, cap;
} name_list;

static void names_free(name_list *l) {
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int names_push(name_list *l, const char *s) {
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 16;
        char **v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v) return -1;
        l->v = v;
        l->cap = cap;
    }
    size_t len = strlen(s);
    char *c = malloc(len + 1);
    if (!c) return -1;
    memcpy(c, s, len + 1);
    l->v[l->n++] = c;
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The entries of folder `path` not starting with '.', sorted; want_dirs: only
 * (and all) folders, else everything. */
static int list_dir(const char *path, int want_dirs, name_list *out, sc_err *err) {
    memset(out, 0, sizeof *out);
    DIR *d = opendir(path);
    if (!d) return sc_errf(err, SC_EIO, "%s: cannot open the folder (expected a folder, found: %s)", path, strerror(errno));
    struct dirent *e;
    int rc = SC_OK;
    char full[PNGDIR_PATH_MAX];
    while (rc == SC_OK && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (want_dirs) {
            struct stat st;
            int n = snprintf(full, sizeof full, "%s/%s", path, e->d_name);
            if (n < 0 || (size_t)n >= sizeof full) {
                rc = sc_errf(err, SC_EARG, "%s/%s: path too long (expected under %d characters)", path, e->d_name,
                             PNGDIR_PATH_MAX);
                break;
            }
            if (stat(full, &st) != 0 || !S_ISDIR(st.st_mode)) continue;
        }
        if (names_push(out, e->d_name) != 0) rc = sc_errf(err, SC_ENOMEM, "%s: out of memory listing the folder", path);
    }
    closedir(d);
    if (rc != SC_OK) {
        names_free(out);
        return rc;
    }
    if (out->n > 1) qsort(out->v, (size_t)out->n, sizeof *out->v, cmp_str);
    return SC_OK;
}

/* One split's files: paths[i] with labels[i], and the size and colour all share. */
typedef struct split_files {
    name_list paths;
    uint8_t *labels;
    int colour;
} split_files;

static void split_free(split_files *s) {
    names_free(&s->paths);
    free(s->labels);
    memset(s, 0, sizeof *s);
}

/* Header of one PNG: size and whether it is colour. first (the split's first
 * file, or NULL) sets the size every later file must have. */
static int png_header(const char *path, int *h, int *w, int *colour, const char *first, int fh, int fw,
                      sc_err *err) {
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&im, path)) {
        int rc = sc_errf(err, SC_EFORMAT, "%s: not a readable PNG file (expected a grey or RGB PNG image; libpng: %s)",
                         path, im.message);
        png_image_free(&im);
        return rc;
    }
    png_image_free(&im);
    if (im.width < 1 || im.height < 1 || im.width > 65536 || im.height > 65536)
        return sc_errf(err, SC_EFORMAT, "%s: a PNG of %ux%u pixels (expected 1..65536 per side)", path,
                       (unsigned)im.width, (unsigned)im.height);
    if (first && ((int)im.width != fw || (int)im.height != fh))
        return sc_errf(err, SC_EFORMAT, "%s: %ux%u pixels (width x height), but %s is %dx%d (expected every image of one size)",
                       path, (unsigned)im.width, (unsigned)im.height, first, fw, fh);
    *w = (int)im.width;
    *h = (int)im.height;
    *colour = (im.format & PNG_FORMAT_FLAG_COLOR) != 0;
    return SC_OK;
}

/* Lists root/<class>/<file> for the classes (test: the folders found must be
 * among classes), reading each header. */
static int scan_split(const char *root, const name_list *classes, int is_test, split_files *s, int *h, int *w,
                      const char **first, sc_err *err) {
    memset(s, 0, sizeof *s);
    name_list dirs;
    int rc = list_dir(root, 1, &dirs, err);
    if (rc != SC_OK) return rc;
    if (dirs.n == 0) rc = sc_errf(err, SC_EFORMAT, "%s: no class folders (expected %s/<class>/<image>.png)", root, root);
    char path[PNGDIR_PATH_MAX];
    int cap = 0;
    for (int k = 0; rc == SC_OK && k < dirs.n; k++) {
        int label = k;
        if (is_test) {
            char *const *hit = bsearch(&dirs.v[k], classes->v, (size_t)classes->n, sizeof *classes->v, cmp_str);
            if (!hit) {
                rc = sc_errf(err, SC_EFORMAT, "%s/%s: a test class that the training folder does not have "
                             "(expected one of the %d classes of train/)", root, dirs.v[k], classes->n);
                break;
            }
            label = (int)(hit - classes->v);
        }
        snprintf(path, sizeof path, "%s/%s", root, dirs.v[k]);
        name_list files;
        if ((rc = list_dir(path, 0, &files, err)) != SC_OK) break;
        if (files.n == 0)
            rc = sc_errf(err, SC_EFORMAT, "%s: a class folder with no images (expected at least one PNG)", path);
        for (int i = 0; rc == SC_OK && i < files.n; i++) {
            int n = snprintf(path, sizeof path, "%s/%s/%s", root, dirs.v[k], files.v[i]);
            if (n < 0 || (size_t)n >= sizeof path) {
                rc = sc_errf(err, SC_EARG, "%s/%s/%s: path too long (expected under %d characters)", root, dirs.v[k],
                             files.v[i], PNGDIR_PATH_MAX);
                break;
            }
            struct stat st;
            if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
                rc = sc_errf(err, SC_EFORMAT, "%s: not a file (expected only PNG images in a class folder)", path);
                break;
            }
            int ih = 0, iw = 0, col = 0;
            if ((rc = png_header(path, &ih, &iw, &col, *first, *h, *w, err)) != SC_OK) break;
            if (s->paths.n >= PNGDIR_MAX_IMAGES) {
                rc = sc_errf(err, SC_EFORMAT, "%s: more than %d images (expected fewer)", root, PNGDIR_MAX_IMAGES);
                break;
            }
            if (names_push(&s->paths, path) != 0) {
                rc = sc_errf(err, SC_ENOMEM, "%s: out of memory listing the images", root);
                break;
            }
            if (!*first) {
                *first = s->paths.v[s->paths.n - 1];
                *h = ih;
                *w = iw;
            }
            s->colour |= col;
            if (s->paths.n > cap) {
                int ncap = cap ? 2 * cap : 256;
                uint8_t *nl = realloc(s->labels, (size_t)ncap);
                if (!nl) {
                    rc = sc_errf(err, SC_ENOMEM, "%s: out of memory listing the images", root);
                    break;
                }
                s->labels = nl;
                cap = ncap;
            }
            s->labels[s->paths.n - 1] = (uint8_t)label;
        }
        names_free(&files);
    }
    names_free(&dirs);
    if (rc != SC_OK) split_free(s);
    return rc;
}

/* Decodes every file of s into im (h x w x c). */
static int decode_split(const split_files *s, int h, int w, int c, sc_images *im, sc_err *err) {
    size_t per = (size_t)h * w * c;
    uint8_t *pix = malloc(per * (size_t)s->paths.n);
    if (!pix) return sc_errf(err, SC_ENOMEM, "out of memory for %d images of %dx%dx%d", s->paths.n, h, w, c);
    for (int i = 0; i < s->paths.n; i++) {
        png_image pi;
        memset(&pi, 0, sizeof pi);
        pi.version = PNG_IMAGE_VERSION;
        int ok = png_image_begin_read_from_file(&pi, s->paths.v[i]);
        if (ok && ((int)pi.width != w || (int)pi.height != h)) ok = 0;   /* changed since the scan */
        if (ok) {
            pi.format = c == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
            ok = png_image_finish_read(&pi, NULL, pix + per * (size_t)i, 0, NULL);
        }
        if (!ok) {
            int rc = sc_errf(err, SC_EFORMAT, "%s: cannot be decoded (expected a %dx%d PNG image; libpng: %s)",
                             s->paths.v[i], w, h, pi.message[0] ? pi.message : "its size changed");
            png_image_free(&pi);
            free(pix);
            return rc;
        }
        png_image_free(&pi);
    }
    im->n = s->paths.n;
    im->h = h;
    im->w = w;
    im->c = c;
    im->pix = pix;
    im->labels = malloc((size_t)s->paths.n);
    if (!im->labels) {
        free(pix);
        memset(im, 0, sizeof *im);
        return sc_errf(err, SC_ENOMEM, "out of memory for %d labels", s->paths.n);
    }
    memcpy(im->labels, s->labels, (size_t)s->paths.n);
    return SC_OK;
}

int sc_images_load_folder(sc_images *train, sc_images *test, char (**names)[SC_CLASS_NAME_MAX], int *nnames,
                          const char *dir, sc_err *err) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    *names = NULL;
    *nnames = 0;
    char troot[PNGDIR_PATH_MAX], sroot[PNGDIR_PATH_MAX];
    int n1 = snprintf(troot, sizeof troot, "%s/train", dir), n2 = snprintf(sroot, sizeof sroot, "%s/test", dir);
    if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof troot || (size_t)n2 >= sizeof sroot)
        return sc_errf(err, SC_EARG, "%s: path too long (expected under %d characters)", dir, PNGDIR_PATH_MAX - 8);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return sc_errf(err, SC_EIO, "%s: not a folder (expected a folder holding train/ and test/)", dir);
    if (stat(troot, &st) != 0 || !S_ISDIR(st.st_mode) || stat(sroot, &st) != 0 || !S_ISDIR(st.st_mode))
        return sc_errf(err, SC_EFORMAT, "%s: missing %s (expected %s/train/<class>/*.png and %s/test/<class>/*.png)",
                       dir, stat(troot, &st) != 0 || !S_ISDIR(st.st_mode) ? "train/" : "test/", dir, dir);
    name_list classes;
    int rc = list_dir(troot, 1, &classes, err);
    if (rc != SC_OK) return rc;
    if (classes.n > SC_CLASSES_MAX)
        rc = sc_errf(err, SC_EFORMAT, "%s: %d class folders (expected at most %d classes)", troot, classes.n,
                     SC_CLASSES_MAX);
    for (int k = 0; rc == SC_OK && k < classes.n; k++) {
        if (strlen(classes.v[k]) >= SC_CLASS_NAME_MAX)
            rc = sc_errf(err, SC_EFORMAT, "%s/%s: a class name of %zu bytes (expected under %d)", troot, classes.v[k],
                         strlen(classes.v[k]), SC_CLASS_NAME_MAX);
        for (const char *p = classes.v[k]; rc == SC_OK && *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                rc = sc_errf(err, SC_EFORMAT, "%s: a class folder whose name holds control character 0x%02x "
                             "(expected printable names)", troot, (unsigned char)*p);
    }
    split_files tr, te;
    memset(&tr, 0, sizeof tr);
    memset(&te, 0, sizeof te);
    int h = 0, w = 0;
    const char *first = NULL;
    if (rc == SC_OK) rc = scan_split(troot, &classes, 0, &tr, &h, &w, &first, err);
    if (rc == SC_OK) rc = scan_split(sroot, &classes, 1, &te, &h, &w, &first, err);
    int c = tr.colour || te.colour ? 3 : 1;
    if (rc == SC_OK) rc = decode_split(&tr, h, w, c, train, err);
    if (rc == SC_OK) rc = decode_split(&te, h, w, c, test, err);
    char (*nm)[SC_CLASS_NAME_MAX] = NULL;
    if (rc == SC_OK && !(nm = calloc((size_t)classes.n, sizeof *nm)))
        rc = sc_errf(err, SC_ENOMEM, "%s: out of memory for %d class names", troot, classes.n);
    for (int k = 0; rc == SC_OK && k < classes.n; k++) snprintf(nm[k], SC_CLASS_NAME_MAX, "%s", classes.v[k]);
    int nclasses = classes.n;
    split_free(&tr);
    split_free(&te);
    names_free(&classes);
    if (rc != SC_OK) {
        sc_images_free(train);
        sc_images_free(test);
        free(nm);
        return rc;
    }
    *names = nm;
    *nnames = nclasses;
    return SC_OK;
}
