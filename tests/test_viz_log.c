/* test_viz_log.c - the viewer's reading of run logs (viz/vlog.h): a log with
 * known records reads back exactly (a log without the image shape and class
 * name attributes as square, grey, classes "0".."C-1"), a colour, non-square
 * glimpse set with class names written by the run log's own writer
 * (experiments/runlog.c) reads back byte for byte, a reader that stays open
 * sees a writer's appends (SWMR, as --follow needs), and every kind of
 * unsuitable file is refused with a message naming the file and what is
 * wrong (hostile image shapes and class names each with the attribute or
 * dataset named).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiments/runlog.h"
#include "tests/test_viz_fixture.h"
#include "viz/vlog.h"

static fx_log ram_log(void) {
    fx_log x = {.G = 3, .T = 4, .C = 10, .W = 28, .g = 6, .k = 2, .glimpses = 1};
    return x;
}

/* Location of image i at glimpse t of a record of epoch e: distinct for every (e, i, t). */
static float *known_locations(const fx_log *x, int e) {
    float *l = malloc(sizeof(float) * x->G * x->T * 2);
    ck_assert_ptr_nonnull(l);
    for (int i = 0; i < x->G; i++)
        for (int t = 0; t < x->T; t++) {
            l[(i * x->T + t) * 2] = -0.9f + 0.1f * t + 0.01f * e;
            l[(i * x->T + t) * 2 + 1] = 0.5f - 0.2f * i;
        }
    return l;
}

static void append_epoch(const char *path, const fx_log *x, int e, int other_process) {
    int pred[3] = {0, 1, 5};
    float *loc = known_locations(x, e), *probs = fx_probs(x, pred);
    if (other_process) fx_append_other_process(path, x, e, loc, NULL, probs, pred);
    else fx_append(path, x, e, loc, NULL, probs, pred);
    free(loc);
    free(probs);
}

START_TEST(reads_known_records) {
    fx_mkdir();
    fx_log x = ram_log();
    const char *path = fx_path("run.h5");
    fx_create(path, &x);
    for (int e = 0; e < 3; e++) append_epoch(path, &x, e, 0);
    sc_vlog *v;
    sc_err err = {0};
    ck_assert_msg(sc_vlog_open(&v, path, &err) == SC_OK, "%s", err.msg);
    ck_assert_str_eq(v->kind, "ram");
    ck_assert_int_eq(v->weights, 0);
    ck_assert_str_eq(v->step_name, "glimpse");
    ck_assert_int_eq(v->G, 3);
    ck_assert_int_eq(v->T, 4);
    ck_assert_int_eq(v->C, 10);
    ck_assert_int_eq(v->W, 28);
    /* a log without /glimpses@height, @width, @channels and /@class_names: square, grey, "0".."9" */
    ck_assert_int_eq(v->H, 28);
    ck_assert_int_eq(v->channels, 1);
    ck_assert_ptr_nonnull(v->class_names);
    for (int c = 0; c < 10; c++) {
        char want[8];
        snprintf(want, sizeof want, "%d", c);
        ck_assert_str_eq(v->class_names[c], want);
    }
    ck_assert_int_eq(v->g, 6);
    ck_assert_int_eq(v->k, 2);
    ck_assert_int_eq(v->R, 3);
    ck_assert_str_eq(v->split, "val");
    ck_assert_int_eq(v->images[(1 * 28 + 5) * 28 + 7], fx_grey(1, 7, 5));
    ck_assert_int_eq(v->labels[2], 2);
    for (int r = 0; r < 3; r++) {
        ck_assert_int_eq(v->epoch[r], r);
        ck_assert_int_eq(v->step[r], 100 * r);
    }
    ck_assert_int_eq(v->pred[2 * 3 + 2], 5);
    ck_assert(v->reward[2 * 3 + 1] == 1.0f && v->reward[2 * 3 + 2] == 0.0f);
    ck_assert_int_eq(sc_vlog_load(v, 1, &err), SC_OK);
    float *want = known_locations(&x, 1);
    for (int q = 0; q < x.G * x.T * 2; q++) ck_assert_float_eq(v->loc[q], want[q]);
    free(want);
    ck_assert_float_eq_tol(v->probs[(2 * 4 + 3) * 10 + 5], 0.9f, 1e-6f);
    ck_assert_int_eq(sc_vlog_find_epoch(v, 2), 2);
    ck_assert_int_eq(sc_vlog_find_epoch(v, 7), -1);
    ck_assert_int_eq(sc_vlog_load(v, 3, &err), SC_EARG);
    sc_vlog_free(v);
    fx_rmdir();
}
END_TEST

/* --follow: a reader that keeps the log open sees records appended after it opened. */
START_TEST(open_reader_sees_appends) {
    fx_mkdir();
    fx_log x = ram_log();
    const char *path = fx_path("live.h5");
    fx_create(path, &x);
    sc_vlog *v;
    sc_err err = {0};
    ck_assert_msg(sc_vlog_open(&v, path, &err) == SC_OK, "%s", err.msg);
    ck_assert_int_eq(v->R, 0);  /* nothing recorded yet: not an error */
    ck_assert(v->swmr);
    int changed = -1;
    ck_assert_int_eq(sc_vlog_refresh(v, &changed, &err), SC_OK);
    ck_assert_int_eq(changed, 0);
    for (int e = 0; e < 3; e++) {
        append_epoch(path, &x, e, 1);
        ck_assert_msg(sc_vlog_refresh(v, &changed, &err) == SC_OK, "%s", err.msg);
        ck_assert_int_eq(changed, 1);
        ck_assert_int_eq(v->R, e + 1);
        ck_assert_int_eq(v->epoch[e], e);
        ck_assert_int_eq(sc_vlog_load(v, e, &err), SC_OK);
        float *want = known_locations(&x, e);
        ck_assert_float_eq(v->loc[5], want[5]);
        free(want);
    }
    sc_vlog_free(v);
    fx_rmdir();
}
END_TEST

/* Opens path expecting failure with code and a message containing both the
 * file's path and `part`. */
static void expect_refused(const char *path, int code, const char *part) {
    sc_vlog *v = (sc_vlog *)1;
    sc_err err = {0};
    int rc = sc_vlog_open(&v, path, &err);
    ck_assert_msg(rc == code, "%s: expected code %d, got %d (%s)", path, code, rc, err.msg);
    ck_assert_ptr_null(v);
    ck_assert_msg(strstr(err.msg, path) != NULL, "message does not name the file: %s", err.msg);
    ck_assert_msg(strstr(err.msg, part) != NULL, "message lacks '%s': %s", part, err.msg);
}

START_TEST(limits_refused_with_a_message) {
    fx_mkdir();
    expect_refused(fx_path("missing.h5"), SC_EIO, "No such file");

    FILE *f = fopen(fx_path("empty.h5"), "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    expect_refused(fx_path("empty.h5"), SC_EFORMAT, "empty");
    f = fopen(fx_path("text.h5"), "w");
    ck_assert_ptr_nonnull(f);
    fputs("not an HDF5 file at all\n", f);
    fclose(f);
    expect_refused(fx_path("text.h5"), SC_EFORMAT, "not an HDF5 file");

    fx_log x = ram_log();
    x.format = "saccade checkpoint";
    fx_create(fx_path("ckpt.h5"), &x);
    expect_refused(fx_path("ckpt.h5"), SC_EFORMAT, "checkpoint, not a run log");
    x.format = "something else";
    fx_create(fx_path("other.h5"), &x);
    expect_refused(fx_path("other.h5"), SC_EFORMAT, "not a saccade run log");

    x = ram_log();
    x.schema = 2;
    fx_create(fx_path("v2.h5"), &x);
    expect_refused(fx_path("v2.h5"), SC_EFORMAT, "schema version 2");

    x = ram_log();
    x.glimpses = 0;
    fx_create(fx_path("noglimpses.h5"), &x);
    expect_refused(fx_path("noglimpses.h5"), SC_EFORMAT, "glimpse_images");

    x = ram_log();
    x.kind = "fc";
    fx_create(fx_path("fc.h5"), &x);
    expect_refused(fx_path("fc.h5"), SC_EFORMAT, "\"fc\"");
    x.kind = "transformer";
    fx_create(fx_path("kind.h5"), &x);
    expect_refused(fx_path("kind.h5"), SC_EFORMAT, "'transformer'");

    x = ram_log();
    x.kind = "soft";  /* a soft run without attention datasets (L = 0: written as ram) */
    fx_create(fx_path("soft.h5"), &x);
    expect_refused(fx_path("soft.h5"), SC_EFORMAT, "/glimpses/attention");

    x = ram_log();
    x.locations_name = "where";  /* /glimpses/locations missing */
    fx_create(fx_path("noloc.h5"), &x);
    expect_refused(fx_path("noloc.h5"), SC_EFORMAT, "/glimpses/locations is missing");

    x = ram_log();
    x.config = "just some text";  /* no glimpse_size or scales to be found */
    fx_create(fx_path("noconfig.h5"), &x);
    expect_refused(fx_path("noconfig.h5"), SC_EFORMAT, "glimpse_size");
    fx_rmdir();
}
END_TEST

/* A locations dataset of the wrong shape is named with both shapes. */
START_TEST(limits_wrong_shape) {
    fx_mkdir();
    fx_log x = ram_log();
    const char *path = fx_path("shape.h5");
    fx_create(path, &x);
    hid_t fapl = sc_h5_fapl(1);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, fapl);
    ck_assert(f >= 0);
    H5Pclose(fapl);
    ck_assert(H5Ldelete(f, "glimpses/locations", H5P_DEFAULT) >= 0);
    hid_t g = H5Gopen2(f, "glimpses", H5P_DEFAULT);
    hsize_t dims[4] = {0, 3, 4, 3};
    fx_dataset(g, "locations", H5T_IEEE_F32LE, 4, dims, 1);
    H5Gclose(g);
    H5Fclose(f);
    expect_refused(path, SC_EFORMAT, "/glimpses/locations is float (0, 3, 4, 3), expected float (R, 3, 4, 2)");
    fx_rmdir();
}
END_TEST

/* A configuration with keys this build does not know (a log from another
 * version) still gives the glimpse geometry. */
START_TEST(config_from_another_version) {
    fx_mkdir();
    fx_log x = ram_log();
    x.config = "[data]\ndataset = mnist\n[model]\nkind = soft\nglimpse_size = 5\nscales = 3\ngrid = 7\n[log]\n";
    const char *path = fx_path("newer.h5");
    fx_create(path, &x);
    sc_vlog *v;
    sc_err err = {0};
    ck_assert_msg(sc_vlog_open(&v, path, &err) == SC_OK, "%s", err.msg);
    ck_assert_int_eq(v->g, 5);
    ck_assert_int_eq(v->k, 3);
    sc_vlog_free(v);
    fx_rmdir();
}
END_TEST

START_TEST(soft_log_reads_attention) {
    fx_mkdir();
    fx_log x = {.G = 2, .T = 3, .C = 10, .W = 28, .g = 4, .k = 1, .L = 49, .kind = "soft", .glimpses = 1};
    const char *path = fx_path("soft.h5");
    fx_create(path, &x);
    int pred[2] = {0, 1};
    float *probs = fx_probs(&x, pred), *att = calloc((size_t)2 * 3 * 49, sizeof(float));
    ck_assert_ptr_nonnull(att);
    att[(1 * 3 + 2) * 49 + 17] = 1.0f;
    fx_append(path, &x, 4, NULL, att, probs, pred);
    sc_vlog *v;
    sc_err err = {0};
    ck_assert_msg(sc_vlog_open(&v, path, &err) == SC_OK, "%s", err.msg);
    ck_assert_str_eq(v->kind, "soft");
    ck_assert_int_eq(v->weights, 1);
    ck_assert_str_eq(v->step_unit, "step");
    ck_assert_int_eq(v->L, 49);
    ck_assert_float_eq_tol(v->grid[2 * 17], (2.0f * 3 + 1) / 7 - 1, 1e-6f);
    ck_assert_int_eq(sc_vlog_load(v, 0, &err), SC_OK);
    ck_assert_float_eq(v->att[(1 * 3 + 2) * 49 + 17], 1.0f);
    ck_assert_ptr_null(v->loc);
    sc_vlog_free(v);
    free(probs);
    free(att);
    fx_rmdir();
}
END_TEST

/* ---- colour, non-square canvases and class names -------------------------------------- */

enum { CG = 3, CT = 2, CC = 3, CH = 20, CW = 28 };
static const char *const CNAMES = "cat\ndog\nb\u00efrd";  /* one with a non-ASCII letter */

/* Pixel bytes of the colour glimpse set: distinct for every (image, y, x, channel). */
static uint8_t colour_byte(size_t q) { return (uint8_t)(q * 37 % 251); }

/* A colour, 20 x 28 (height x width), 3-class glimpse set and one record, written by
 * sc_runlog_create and sc_runlog_append_glimpses, as a training run writes them. */
static void write_colour_log(const char *path, const char *names) {
    uint8_t images[CG * CH * CW * 3];
    int32_t labels[CG] = {0, 1, 2}, index[CG] = {5, 6, 7};
    for (size_t q = 0; q < sizeof images; q++) images[q] = colour_byte(q);
    sc_runlog_meta m = {.run_id = "00000000c0101234", .config = "[model]\nglimpse_size = 4\nscales = 2\n",
                        .checkpoint = "c.ckpt.h5", .num_classes = CC, .canvas_side = CW, .model_kind = "ram",
                        .canvas_h = CH, .canvas_w = CW, .channels = 3, .class_names = names};
    sc_runlog_glimpse_set gs = {.G = CG, .T = CT, .C = CC, .side = CW, .split = "val", .images = images,
                                .labels = labels, .index = index, .h = CH, .w = CW, .channels = 3};
    sc_runlog *L;
    sc_err err = {0};
    ck_assert_msg(sc_runlog_create(&L, path, &m, &gs, &err) == SC_OK, "%s", err.msg);
    float loc[CG * CT * 2], probs[CG * CT * CC], reward[CG] = {1, 0, 1};
    int32_t pred[CG] = {0, 2, 2};
    for (int q = 0; q < CG * CT * 2; q++) loc[q] = 0.1f * (float)(q % 7) - 0.3f;
    for (int q = 0; q < CG * CT * CC; q++) probs[q] = 1.0f / CC;
    sc_runlog_glimpse_rec r = {.epoch = 0, .step = 0, .locations = loc, .probs = probs, .pred = pred,
                               .reward = reward};
    ck_assert_msg(sc_runlog_append_glimpses(L, &r, &err) == SC_OK, "%s", err.msg);
    ck_assert_msg(sc_runlog_end_session(L, SC_END_FINISHED, 0, 0, &err) == SC_OK, "%s", err.msg);
    sc_runlog_close(L);
}

START_TEST(colour_non_square_round_trips) {
    fx_mkdir();
    const char *path = fx_path("colour.h5");
    write_colour_log(path, CNAMES);
    sc_vlog *v;
    sc_err err = {0};
    ck_assert_msg(sc_vlog_open(&v, path, &err) == SC_OK, "%s", err.msg);
    ck_assert_int_eq(v->G, CG);
    ck_assert_int_eq(v->H, CH);
    ck_assert_int_eq(v->W, CW);
    ck_assert_int_eq(v->channels, 3);
    ck_assert_int_eq(v->C, CC);
    ck_assert_int_eq(v->g, 4);
    ck_assert_int_eq(v->k, 2);
    ck_assert_int_eq(v->R, 1);
    for (size_t q = 0; q < (size_t)CG * CH * CW * 3; q++)
        if (v->images[q] != colour_byte(q)) ck_abort_msg("image byte %zu is %d, written %d", q, v->images[q], colour_byte(q));
    ck_assert_str_eq(v->class_names[0], "cat");
    ck_assert_str_eq(v->class_names[1], "dog");
    ck_assert_str_eq(v->class_names[2], "b\u00efrd");
    ck_assert_int_eq(v->labels[2], 2);
    ck_assert_int_eq(v->pred[1], 2);
    ck_assert_int_eq(sc_vlog_load(v, 0, &err), SC_OK);
    ck_assert_float_eq(v->loc[3], 0.1f * 3 - 0.3f);
    sc_vlog_free(v);

    /* no names given: the writer stores "0".."C-1" */
    const char *plain = fx_path("plain.h5");
    write_colour_log(plain, NULL);
    ck_assert_msg(sc_vlog_open(&v, plain, &err) == SC_OK, "%s", err.msg);
    ck_assert_str_eq(v->class_names[0], "0");
    ck_assert_str_eq(v->class_names[2], "2");
    sc_vlog_free(v);
    fx_rmdir();
}
END_TEST

/* Rewrites attribute name of object obj (a new value, type and all). */
static hid_t open_for_edit(const char *path) {
    hid_t fapl = sc_h5_fapl(1);
    ck_assert(fapl >= 0);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, fapl);
    ck_assert_msg(f >= 0, "cannot open %s", path);
    H5Pclose(fapl);
    return f;
}
static void set_attr_int(const char *path, const char *obj, const char *name, int64_t val) {
    hid_t f = open_for_edit(path);
    if (H5Aexists_by_name(f, obj, name, H5P_DEFAULT) > 0) ck_assert(H5Adelete_by_name(f, obj, name, H5P_DEFAULT) >= 0);
    hid_t o = H5Oopen(f, obj, H5P_DEFAULT);
    ck_assert(o >= 0);
    ck_assert(sc_h5_attr_put_i64(o, name, val) == 0);
    H5Oclose(o);
    ck_assert(H5Fclose(f) >= 0);
}
/* A string attribute: variable-length (fixed = 0), or fixed-length of exactly
 * strlen(val) bytes with no terminator (H5T_STR_NULLPAD, as numpy's bytes_ are). */
static void set_attr_str(const char *path, const char *obj, const char *name, const char *val, int fixed) {
    hid_t f = open_for_edit(path);
    if (H5Aexists_by_name(f, obj, name, H5P_DEFAULT) > 0) ck_assert(H5Adelete_by_name(f, obj, name, H5P_DEFAULT) >= 0);
    hid_t o = H5Oopen(f, obj, H5P_DEFAULT);
    ck_assert(o >= 0);
    if (!fixed) {
        ck_assert(sc_h5_attr_put_str(o, name, val) == 0);
    } else {
        hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR);
        ck_assert(H5Tset_size(t, strlen(val)) >= 0 && H5Tset_strpad(t, H5T_STR_NULLPAD) >= 0);
        hid_t a = H5Acreate2(o, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
        ck_assert(a >= 0 && H5Awrite(a, t, val) >= 0);
        H5Aclose(a);
        H5Sclose(sp);
        H5Tclose(t);
    }
    H5Oclose(o);
    ck_assert(H5Fclose(f) >= 0);
}

/* A hostile value of each new attribute (and images of another shape) is
 * refused with a message naming the file and the attribute or dataset. */
START_TEST(limits_hostile_shapes_and_names) {
    fx_mkdir();
    struct { const char *obj, *name; int64_t val; const char *part; } ints[] = {
        {"/glimpses", "channels", 2, "/glimpses@channels = 2"},
        {"/glimpses", "channels", 4, "/glimpses@channels = 4"},
        {"/glimpses", "channels", 0, "/glimpses@channels = 0, expected 1 (grey) or 3 (RGB)"},
        {"/glimpses", "channels", (int64_t)1 << 35, "/glimpses@channels = 34359738368"},
        {"/glimpses", "channels", 1, "/glimpses/images is integer (3, 20, 28, 3), expected integer (3, 20, 28)"},
        {"/glimpses", "height", 21, "/glimpses/images is integer (3, 20, 28, 3), expected integer (3, 21, 28, 3)"},
        {"/glimpses", "height", 0, "/glimpses@height = 0"},
        {"/glimpses", "height", (int64_t)1 << 40, "/glimpses@height = 1099511627776"},
        {"/glimpses", "height", -20, "/glimpses@height = -20"},
        {"/glimpses", "width", 30, "/glimpses@width = 30 but /glimpses@side = 28"},
        {"/glimpses", "side", 30, "/glimpses@width = 28 but /glimpses@side = 30"},
        {"/glimpses", "width", (int64_t)1 << 33, "/glimpses@width = 8589934592"},
        {"/", "class_names", 3, "attribute /@class_names is not a string"},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "int%zu.h5", i);
        const char *path = fx_path(name);
        write_colour_log(path, CNAMES);
        set_attr_int(path, ints[i].obj, ints[i].name, ints[i].val);
        expect_refused(path, SC_EFORMAT, ints[i].part);
    }
    char longname[400];
    memset(longname, 'x', 300);
    snprintf(longname + 300, sizeof longname - 300, "\ndog\nbird");
    struct { const char *val; const char *part; } strs[] = {
        {"cat\ndog", "/@class_names holds 2 names, expected 3"},
        {"cat\ndog\nbird\nfish", "/@class_names holds 4 names, expected 3"},
        {"cat\n\nbird", "/@class_names name 2 (of 3) is empty"},
        {"cat\ndog\nbird\n", "/@class_names holds 4 names, expected 3"},  /* a trailing newline */
        {"", "/@class_names name 1 (of 3) is empty"},
        {longname, "/@class_names name 1 (of 3) is 300 bytes long, at most 255"},
        {"cat\nd\tg\nbird", "/@class_names name 2 (of 3) holds the control character 0x09"},
        {"cat\ndog\nbi\xffrd", "/@class_names name 3 (of 3) is not valid UTF-8"},
        {"cat\ndog\nbi\xc3", "/@class_names name 3 (of 3) is not valid UTF-8"},  /* cut in a character */
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "str%zu.h5", i);
        const char *path = fx_path(name);
        write_colour_log(path, CNAMES);
        set_attr_str(path, "/", "class_names", strs[i].val, 0);
        expect_refused(path, SC_EFORMAT, strs[i].part);
        sc_err err = {0};
        sc_vlog *v = NULL;
        sc_vlog_open(&v, path, &err);
        ck_assert_msg(!strchr(err.msg, '\n'), "not one line: %s", err.msg);
    }
    /* a fixed-length string without a terminator (numpy bytes_) reads as its bytes */
    const char *path = fx_path("fixed.h5");
    write_colour_log(path, CNAMES);
    set_attr_str(path, "/", "class_names", "ant\nbee\nfly", 1);
    sc_vlog *v;
    sc_err err = {0};
    ck_assert_msg(sc_vlog_open(&v, path, &err) == SC_OK, "%s", err.msg);
    ck_assert_str_eq(v->class_names[0], "ant");
    ck_assert_str_eq(v->class_names[2], "fly");
    sc_vlog_free(v);
    ck_assert_int_eq((int)H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
    fx_rmdir();
}
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("viz_log");
    TCase *tc = tcase_create("vlog");
    tcase_add_test(tc, reads_known_records);
    tcase_add_test(tc, open_reader_sees_appends);
    tcase_add_test(tc, limits_refused_with_a_message);
    tcase_add_test(tc, limits_wrong_shape);
    tcase_add_test(tc, config_from_another_version);
    tcase_add_test(tc, soft_log_reads_attention);
    tcase_add_test(tc, colour_non_square_round_trips);
    tcase_add_test(tc, limits_hostile_shapes_and_names);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}

SC_TEST_MAIN(make_suite)
