/* imgio.c - PNG and animated GIF writers for the viewer (see imgio.h).
 *
 * PNG through libpng's simplified API (no setjmp in our code); GIF through
 * giflib: a global 256-colour map made by median cut (GifQuantizeBuffer) over
 * all frames stacked, a NETSCAPE2.0 loop extension and a graphics control
 * block per frame for its delay.
 */
#include "imgio.h"

#include <errno.h>
#include <fcntl.h>
#include <gif_lib.h>
#include <png.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int tmp_name(char *buf, size_t n, const char *path, sc_err *err) {
    if ((size_t)snprintf(buf, n, "%s.tmp", path) >= n) return sc_errf(err, SC_EARG, "%s: path too long", path);
    return SC_OK;
}

static int commit(const char *tmp, const char *path, sc_err *err) {
    if (rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return sc_errf(err, SC_EIO, "%s: cannot write: %s", path, strerror(e));
    }
    return SC_OK;
}

int sc_png_write(const char *path, const uint8_t *rgb, int w, int h, sc_err *err) {
    char tmp[4200];
    int rc = tmp_name(tmp, sizeof tmp, path, err);
    if (rc != SC_OK) return rc;
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)w;
    img.height = (png_uint_32)h;
    img.format = PNG_FORMAT_RGB;
    errno = 0;
    if (!png_image_write_to_file(&img, tmp, 0, rgb, (png_int_32)w * 3, NULL)) {
        int e = errno;
        remove(tmp);
        png_image_free(&img);
        if (e) return sc_errf(err, SC_EIO, "%s: cannot write: %s (%s)", path, strerror(e), img.message);
        return sc_errf(err, SC_EIO, "%s: cannot write PNG: %s", path, img.message);
    }
    return commit(tmp, path, err);
}

int sc_gif_write(const char *path, const uint8_t *const *frames, int n, int w, int h, const int *delay_cs,
                 sc_err *err) {
    char tmp[4200];
    int rc = tmp_name(tmp, sizeof tmp, path, err);
    if (rc != SC_OK) return rc;
    if (n < 1 || w < 1 || h < 1 || (size_t)w * h * n > ((size_t)1 << 31))
        return sc_errf(err, SC_EARG, "%s: cannot make a GIF of %d frames of %dx%d", path, n, w, h);
    size_t px = (size_t)w * h, N = px * n;
    GifByteType *R = malloc(N), *G = malloc(N), *B = malloc(N), *idx = malloc(N);
    GifColorType map[256];
    int mapsize = 256;
    if (!R || !G || !B || !idx) {
        rc = sc_errf(err, SC_ENOMEM, "%s: out of memory for %d frames of %dx%d", path, n, w, h);
        goto out;
    }
    for (int f = 0; f < n; f++)
        for (size_t p = 0; p < px; p++) {
            R[f * px + p] = frames[f][3 * p];
            G[f * px + p] = frames[f][3 * p + 1];
            B[f * px + p] = frames[f][3 * p + 2];
        }
    memset(map, 0, sizeof map);
    if (GifQuantizeBuffer((unsigned)w, (unsigned)(h * n), &mapsize, R, G, B, idx, map) != GIF_OK) {
        rc = sc_errf(err, SC_ENOMEM, "%s: cannot reduce the frames to 256 colours", path);
        goto out;
    }
    int gerr = 0;
    /* our own open(): giflib's EGifOpenFileName makes the file 0600 */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0) {
        rc = sc_errf(err, SC_EIO, "%s: cannot create: %s", path, strerror(errno));
        goto out;
    }
    GifFileType *gif = EGifOpenFileHandle(fd, &gerr);
    if (!gif) {
        close(fd);
        remove(tmp);
        rc = sc_errf(err, SC_EIO, "%s: cannot write GIF: %s", path, GifErrorString(gerr));
        goto out;
    }
    ColorMapObject *cmap = GifMakeMapObject(256, map);
    int ok = cmap != NULL;
    EGifSetGifVersion(gif, true);
    ok = ok && EGifPutScreenDesc(gif, w, h, 8, 0, cmap) == GIF_OK;
    static const GifByteType loop[3] = {1, 0, 0};  /* sub-block 1: repeat count 0 = forever */
    ok = ok && EGifPutExtensionLeader(gif, APPLICATION_EXT_FUNC_CODE) == GIF_OK &&
         EGifPutExtensionBlock(gif, 11, "NETSCAPE2.0") == GIF_OK && EGifPutExtensionBlock(gif, 3, loop) == GIF_OK &&
         EGifPutExtensionTrailer(gif) == GIF_OK;
    for (int f = 0; ok && f < n; f++) {
        GraphicsControlBlock gcb = {DISPOSE_DO_NOT, false, delay_cs[f], NO_TRANSPARENT_COLOR};
        GifByteType ext[4];
        size_t len = EGifGCBToExtension(&gcb, ext);
        ok = EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, (int)len, ext) == GIF_OK &&
             EGifPutImageDesc(gif, 0, 0, w, h, false, NULL) == GIF_OK;
        for (int y = 0; ok && y < h; y++) ok = EGifPutLine(gif, idx + f * px + (size_t)y * w, w) == GIF_OK;
    }
    int why = gif->Error;
    int eno = errno;
    if (EGifCloseFile(gif, &gerr) != GIF_OK && ok) {
        ok = 0;
        why = gerr;
        eno = errno;
    }
    GifFreeMapObject(cmap);
    if (!ok) {
        remove(tmp);
        rc = sc_errf(err, SC_EIO, "%s: cannot write GIF: %s", path,
                     why == E_GIF_ERR_WRITE_FAILED && eno ? strerror(eno) : GifErrorString(why));
        goto out;
    }
    rc = commit(tmp, path, err);
out:
    free(R);
    free(G);
    free(B);
    free(idx);
    return rc;
}
