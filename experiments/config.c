/* config.c - saccade's experiment configuration: one table of keys, a strict
 * INI reader, `--set` overrides, cross-key checks, and the writers (resolved
 * INI text, Markdown key reference).
 *
 * What it is: every key lives in keys[] below with its section, type, field
 * in sc_config, default, range or allowed words and a one-line meaning.
 * Everything else (defaults, parsing, range checks, writing, the doc table)
 * walks that table, so adding a key is one line and adding an enum word is
 * editing one string.
 *
 * What it is not: a general INI library. The dialect is deliberately small
 * and strict (libinih, as Debian builds it, reports no line numbers to the
 * handler, silently truncates long lines and accepts multi-line values, so
 * the reader here is our own):
 *   - a line is blank, a comment (first non-blank character ';' or '#'),
 *     a section header "[name]", or "key = value";
 *   - ';' or '#' preceded by whitespace starts a comment anywhere on a line;
 *   - keys, section names and enum words are case-sensitive; surrounding
 *     whitespace is trimmed; there is no quoting and no continuation;
 *   - a key may appear once per file; sections may be reopened.
 * Every error names path:line (or the `--set` argument), echoes what was
 * found and says what was expected. Parsing works on a copy that is
 * committed only on success, so a failed load or set changes nothing.
 */
#include "config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "agent/kind.h"
#include "env/dataset.h"
#include "experiments/train.h"

/* ---- the key table ------------------------------------------------------ */

typedef enum { KT_INT, KT_U64, KT_FLOAT, KT_BOOL, KT_ENUM, KT_STR } key_type;

typedef struct sc_key {
    const char *section;
    const char *name;
    key_type type;
    size_t off;          /* offsetof(sc_config, field) */
    size_t size;         /* sizeof the field (string/enum capacity incl. NUL) */
    const char *def;     /* default, spelled as in a config file */
    double lo, hi;       /* KT_INT, KT_FLOAT: allowed closed range */
    const char *words;   /* KT_ENUM: allowed words, '|'-separated */
    const char *doc;     /* one-line meaning (no '|': it goes into Markdown) */
} sc_key;

/* FIELD(f, T): offset and size of sc_config.f, refusing to compile when f is
 * not of C type T (a negative array size), so a table row cannot point a
 * float parser at an int field. Array fields decay to char * in _Generic. */
#define FIELD(f, T)                                                          \
    offsetof(sc_config, f) +                                                 \
        0 * sizeof(char[_Generic(((sc_config *)0)->f, T: 1, default: -1)]),  \
        sizeof(((sc_config *)0)->f)

#define K_INT(s, k, f, def, lo, hi, doc)   { s, k, KT_INT, FIELD(f, int), def, lo, hi, NULL, doc }
#define K_U64(s, k, f, def, doc)           { s, k, KT_U64, FIELD(f, uint64_t), def, 0, 0, NULL, doc }
#define K_FLOAT(s, k, f, def, lo, hi, doc) { s, k, KT_FLOAT, FIELD(f, float), def, lo, hi, NULL, doc }
#define K_BOOL(s, k, f, def, doc)          { s, k, KT_BOOL, FIELD(f, int), def, 0, 1, NULL, doc }
#define K_ENUM(s, k, f, def, words, doc)   { s, k, KT_ENUM, FIELD(f, char *), def, 0, 0, words, doc }
#define K_STR(s, k, f, def, doc)           { s, k, KT_STR, FIELD(f, char *), def, 0, 0, NULL, doc }

static const char *const sections[] = { "data", "model", "train", "log" };
#define NSECTIONS ((int)(sizeof sections / sizeof sections[0]))

static const sc_key keys[] = {
    K_ENUM("data", "dataset", dataset, "mnist", "mnist|fashion|idx|hdf5|folder",
           "which images: MNIST or Fashion-MNIST digits, or your own as four IDX files, one HDF5 file or a "
           "folder of PNGs (docs/usage.md, Your own data)"),
    K_STR("data", "dir", data_dir, "",
          "mnist, fashion: folder with the four idx files, empty = the dataset's default "
          "(data/mnist, /usr/share/datasets/fashion-mnist); folder: the folder holding train/<class>/*.png "
          "and test/<class>/*.png"),
    K_STR("data", "file", data_file, "", "hdf5: the HDF5 file holding the images and labels"),
    K_STR("data", "train_images", train_images, "",
          "idx: the training images' IDX file (n x h x w, or n x h x w x c with c = 1 or 3; raw or gzipped); "
          "hdf5: their dataset in the file, empty = /train/images"),
    K_STR("data", "train_labels", train_labels, "",
          "idx: the training labels' IDX file (n bytes); hdf5: their dataset, empty = /train/labels"),
    K_STR("data", "test_images", test_images, "",
          "idx: the test images' IDX file; hdf5: their dataset, empty = /test/images"),
    K_STR("data", "test_labels", test_labels, "",
          "idx: the test labels' IDX file; hdf5: their dataset, empty = /test/labels"),
    K_ENUM("data", "canvas", canvas, "plain", "plain|translated|cluttered",
           "the images as they are, an image placed at random on a larger square canvas, "
           "or that plus distractor patches"),
    K_INT("data", "canvas_size", canvas_size, "60", 2, 4096,
          "canvas side in pixels for translated and cluttered (at least the images' height and width)"),
    K_INT("data", "distractors", distractors, "4", 0, 64,
          "distractor patches per cluttered image"),
    K_INT("data", "distractor_size", distractor_size, "8", 1, 4096,
          "side of each distractor patch, cut from other random images of the dataset (at most their "
          "shorter side)"),
    K_INT("data", "shift", shift, "0", 0, 8,
          "plain canvas only: move each training image by a random (dx, dy) in [-shift, shift]^2 pixels, "
          "new every epoch (augmentation; validation and test images are not moved); 0 = off"),
    K_INT("data", "val_size", val_size, "5000", 0, 100000000,
          "training images held out for validation"),
    K_INT("data", "max_train", max_train, "0", 0, 1000000000,
          "0 = all; else use only the first max_train training images"),

    K_ENUM("model", "kind", kind, "ram", NULL /* the model table's names (agent/kind.h) */,
           "model family: ram = hard attention (the recurrent attention model), soft = soft attention "
           "over a fixed grid of glimpse locations, fc = fully connected on the whole canvas, selfattn = "
           "self-attention over patches (a vision transformer)"),
    K_INT("model", "glimpses", glimpses, "6", 1, 64, "glimpses per image (T)"),
    K_INT("model", "glimpse_size", glimpse_size, "8", 1, 64,
          "side of the smallest glimpse patch in pixels (g)"),
    K_INT("model", "scales", scales, "1", 1, 8,
          "patches per glimpse, each twice the side of the previous, all resized to g x g (k)"),
    K_INT("model", "glimpse_hidden", glimpse_hidden, "128", 1, 4096,
          "width of the glimpse-content layer h_g"),
    K_INT("model", "loc_hidden", loc_hidden, "128", 1, 4096,
          "width of the glimpse-location layer h_l"),
    K_INT("model", "glimpse_out", glimpse_out, "256", 1, 4096,
          "width of the glimpse feature g_t = relu(W_g h_g + W_l h_l)"),
    K_ENUM("model", "core", core, "rnn", "rnn|lstm",
           "recurrent core: plain RNN or LSTM"),
    K_INT("model", "hidden", hidden, "256", 1, 4096, "width of the core state h_t"),
    K_ENUM("model", "loc_net", loc_net, "linear", "linear|mlp",
           "location network: a linear map of h_t or a one-hidden-layer MLP"),
    K_INT("model", "loc_net_hidden", loc_net_hidden, "64", 1, 4096,
          "hidden width of the mlp location network"),
    K_FLOAT("model", "loc_std", loc_std, "0.1", 0.001, 1,
            "standard deviation of the Gaussian location policy (coordinates in [-1,1])"),
    K_FLOAT("model", "loc_std_final", loc_std_final, "0", 0, 1,
            "0 = fixed std; else the std decays linearly to this value over training"),
    K_FLOAT("model", "loc_std_anneal", loc_std_anneal, "1", 0.01, 1,
            "share of training over which the std decays to loc_std_final, then stays there"),
    K_ENUM("model", "first_loc", first_loc, "random", "random|center",
           "first glimpse location: uniform at random or the center"),
    K_ENUM("model", "test_policy", test_policy, "sample", "sample|mean",
           "the RAM's glimpse locations at validation and test time: sample = drawn from the Gaussian policy "
           "at that point's std (the paper), mean = the policy's mean, no noise (Torch7's RAM); the first "
           "glimpse follows first_loc either way"),
    K_BOOL("model", "baseline", baseline, "true",
           "learn a baseline b_t to reduce the variance of REINFORCE"),
    K_ENUM("model", "baseline_kind", baseline_kind, "state", "state|constant|ema",
           "the baseline, when baseline = true: state = b_t linear in the core state h_t (learned by MSE), "
           "constant = one learned number (Torch7's RAM), ema = the moving average of the batches' mean "
           "reward (no parameters)"),
    K_FLOAT("model", "baseline_decay", baseline_decay, "0.99", 0.5, 0.99999,
            "ema baseline: b <- decay b + (1 - decay) mean reward after every step"),
    K_ENUM("model", "reinforce_grad", reinforce_grad, "loc_net", "loc_net|full",
           "what the REINFORCE term trains: loc_net = the location network only (its input h_t detached), "
           "full = also the core and the glimpse network through h_t (the paper's gradient of the hybrid "
           "loss; the baseline stays detached)"),
    K_BOOL("model", "reinforce", reinforce, "true",
           "train the location policy with REINFORCE; false = random glimpses"),
    K_FLOAT("model", "reinforce_weight", reinforce_weight, "1", 0, 100,
            "weight of the REINFORCE term in the hybrid loss"),
    K_INT("model", "mc_samples", mc_samples, "10", 1, 100,
          "location samples averaged at test time (M; ram only: soft and fc are deterministic)"),
    K_INT("model", "grid", grid, "7", 1, 64,
          "soft: glimpse locations per side, L = grid^2 centres of a grid x grid tiling of the canvas"),
    K_ENUM("model", "score", score, "dot", "dot|additive",
           "soft: attention score of a location, q . g_i / sqrt(glimpse_out) with q from h_{t-1}, "
           "or v . tanh(W_p g_i + W_h h_{t-1})"),
    K_INT("model", "att_hidden", att_hidden, "128", 1, 4096,
          "soft: width of the additive score's tanh layer"),
    K_INT("model", "fc_layers", fc_layers, "2", 0, 16,
          "fc: hidden ReLU layers (0 = logistic regression on the pixels)"),
    K_INT("model", "fc_hidden", fc_hidden, "256", 1, 4096, "fc: width of each hidden layer"),
    K_INT("model", "patch", patch, "4", 1, 64,
          "selfattn: side of the square patches the canvas is cut into (it must divide the canvas side); "
          "tokens T = (side / patch)^2"),
    K_INT("model", "d_model", d_model, "64", 1, 4096,
          "selfattn: width of every token (a multiple of heads; of 4 too with pos_enc = sin2d)"),
    K_INT("model", "heads", heads, "4", 1, 64, "selfattn: attention heads, each d_model / heads wide"),
    K_INT("model", "blocks", blocks, "2", 1, 16,
          "selfattn: transformer blocks (pre-LN: x += MHSA(LN(x)); x += MLP(LN(x)))"),
    K_INT("model", "mlp_hidden", mlp_hidden, "128", 1, 16384, "selfattn: hidden width of each block's GELU MLP"),
    K_ENUM("model", "pos_enc", pos_enc, "learned", "learned|sin2d|none",
           "selfattn: position of a patch: a learned (T, d_model) table, fixed 2-D sines and cosines "
           "(half the channels for x, half for y), or none (the model then ignores where a patch is)"),
    K_ENUM("model", "readout", readout, "query", "mean|query",
           "selfattn: class readout from the final tokens: their mean, or cross-attention from a learned "
           "query token"),
    K_BOOL("model", "causal", causal, "false",
           "selfattn: causal mask in the blocks' self-attention (token k sees tokens 0..k, raster order)"),

    K_U64("train", "seed", seed, "1",
          "seed of every random draw (same seed and threads = same run)"),
    K_INT("train", "threads", threads, "2", 1, 256,
          "data-parallel workers (at most 64), each on its share of every batch with OpenBLAS at one thread "
          "(results are the same bits for the same seed and threads)"),
    K_INT("train", "epochs", epochs, "20", 1, 100000, "passes over the training set"),
    K_INT("train", "batch_size", batch_size, "128", 1, 65536, "images per gradient step"),
    K_INT("train", "eval_batch", eval_batch, "0", 0, 65536,
          "images per evaluation batch; 0 = max(batch_size, 500) for ram and fc, batch_size for soft and "
          "selfattn (whose activations grow with the grid, the tokens)"),
    K_ENUM("train", "optimizer", optimizer, "adam", "adam|sgd", "Adam, or SGD with momentum"),
    K_FLOAT("train", "lr", lr, "0.001", 1e-7, 10, "learning rate (the initial one when scheduled)"),
    K_ENUM("train", "lr_schedule", lr_schedule, "constant", "constant|linear|step|plateau",
           "constant; linear decay to lr_final; times lr_gamma every lr_step_epochs; "
           "or times lr_gamma after lr_patience epochs without validation improvement"),
    K_FLOAT("train", "lr_final", lr_final, "1e-5", 0, 10,
            "learning rate at the end of training (linear schedule)"),
    K_INT("train", "lr_step_epochs", lr_step_epochs, "10", 1, 100000,
          "epochs between decays (step schedule)"),
    K_FLOAT("train", "lr_gamma", lr_gamma, "0.5", 0.001, 1,
            "decay factor (step and plateau schedules)"),
    K_INT("train", "lr_patience", lr_patience, "5", 1, 1000,
          "epochs without validation improvement before a decay (plateau schedule)"),
    K_FLOAT("train", "momentum", momentum, "0.9", 0, 0.999, "SGD momentum"),
    K_FLOAT("train", "weight_decay", weight_decay, "0", 0, 1, "L2 penalty on the weights"),
    K_FLOAT("train", "clip", clip, "0", 0, 1e6,
            "clip the global gradient norm to this value; 0 = off"),
    K_FLOAT("train", "ema", ema, "0", 0, 0.99999,
            "Polyak averaging: keep an exponential moving average of the parameters with this decay per step "
            "(e.g. 0.999, about the last 1,000 steps) and validate, keep as best and test the average instead "
            "of the raw parameters; 0 = off"),
    K_ENUM("train", "keep", keep, "best", "best|last",
           "the parameters a run ends with, tests and `eval` uses by default: best = those of the epoch with "
           "the lowest validation error (M=1), last = the final ones (the average with ema); with a schedule "
           "that decays the rate to near zero, last avoids picking the luckiest of hundreds of noisy "
           "validation errors"),
    K_ENUM("train", "nonfinite", nonfinite, "stop", "stop|skip",
           "what a NaN or infinity in a loss term or a gradient does: stop = end the session at that step "
           "with one line naming the term or tensor (exit status 3), keeping the last checkpoint and the "
           "best parameters as they were, so `--resume` (e.g. with a lower lr) continues from there; skip = "
           "leave that batch's update out and go on (each skip printed, the count in /sessions/end_skipped); "
           "non-finite parameters always stop"),
    K_INT("train", "early_stop", early_stop, "0", 0, 100000,
          "stop after this many epochs without validation improvement; 0 = off"),
    K_INT("train", "log_every", log_every, "100", 1, 1000000,
          "training steps between progress lines (when stdout is not a terminal)"),

    K_INT("log", "train_every", train_every, "10", 1, 1000000,
          "training steps between rows of /train in the run log (each row averages them)"),
    K_INT("log", "glimpse_images", glimpse_images, "64", 0, 1024,
          "validation images whose glimpses are recorded in /glimpses; 0 = none"),
    K_INT("log", "glimpse_every", glimpse_every, "1", 1, 100000,
          "epochs between glimpse records (the first and the last epoch are always recorded)"),
    K_INT("log", "attn_token", attn_token, "-1", -1, 65535,
          "selfattn with readout = mean: the token whose last-block attention /glimpses records per head; "
          "-1 = the centre patch"),
};
#define NKEYS ((int)(sizeof keys / sizeof keys[0]))

/* ---- small string helpers ----------------------------------------------- */

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

/* The first ';' or '#' that starts a comment: at the start of s or after
 * whitespace. NULL if none. */
static const char *find_comment(const char *s) {
    for (const char *p = s; *p; p++)
        if ((*p == ';' || *p == '#') && (p == s || isspace((unsigned char)p[-1])))
            return p;
    return NULL;
}

/* s clipped to fit buf (with "..." when cut), for echoing input in messages. */
static const char *clip(const char *s, char *buf, size_t n) {
    size_t len = strlen(s);
    if (len < n) return s;
    memcpy(buf, s, n - 4);
    memcpy(buf + n - 4, "...", 4);
    return buf;
}

/* Levenshtein distance, capped: returns cap+1 as soon as it exceeds cap. */
static int edit_distance(const char *a, const char *b, int cap) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return cap + 1;
    int row[65];
    for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0], best = row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int v = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < v) v = up + 1;
            if (row[j - 1] + 1 < v) v = row[j - 1] + 1;
            row[j] = v;
            diag = up;
            if (v < best) best = v;
        }
        if (best > cap) return cap + 1;
    }
    return row[lb];
}

/* Does the '|'-separated list contain word (ignoring case if nocase)? */
/* k's allowed words, '|'-separated: its own, or for [model] kind (words NULL)
 * the names of the model table's rows, so a new kind's row is all it takes. */
static const char *key_words(const sc_key *k) {
    static char kinds[256];
    if (k->words) return k->words;
    if (!kinds[0]) {
        size_t at = 0;
        for (int i = 0; i < SC_MODEL_KINDS && at < sizeof kinds; i++)
            at += (size_t)snprintf(kinds + at, sizeof kinds - at, "%s%s", i ? "|" : "", sc_model_kind_name(i));
    }
    return kinds;
}

static int words_contain(const char *words, const char *word, int nocase) {
    size_t n = strlen(word);
    for (const char *p = words;;) {
        const char *e = strchr(p, '|');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && (nocase ? strncasecmp(p, word, n) : memcmp(p, word, n)) == 0) return 1;
        if (!e) return 0;
        p = e + 1;
    }
}

/* ---- lookup -------------------------------------------------------------- */

static int find_section(const char *name) {
    for (int i = 0; i < NSECTIONS; i++)
        if (strcmp(sections[i], name) == 0) return i;
    return -1;
}

static int find_key(const char *section, const char *name) {
    for (int i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0) return i;
    return -1;
}

/* A hint for an unknown key: where it lives if it is a key of another section,
 * else the closest key within edit distance 2 (same section preferred), else
 * a pointer to the reference. setstyle spells keys as section.key. */
static void unknown_key_hint(const char *section, const char *name, int setstyle,
                             char *hint, size_t n) {
    for (int i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0) {
            if (setstyle)
                snprintf(hint, n, "; did you mean %s.%s?", keys[i].section, keys[i].name);
            else
                snprintf(hint, n, "; %s is a key of [%s]", keys[i].name, keys[i].section);
            return;
        }
    int best = -1, bestd = 3;
    for (int i = 0; i < NKEYS; i++) {
        int d = edit_distance(name, keys[i].name, 2);
        int same = strcmp(keys[i].section, section) == 0;
        if (d < bestd || (d == bestd && same && best >= 0 &&
                          strcmp(keys[best].section, section) != 0)) {
            best = i;
            bestd = d;
        }
    }
    if (best < 0)
        snprintf(hint, n, " (the keys are listed by `saccade config --doc`)");
    else if (setstyle)
        snprintf(hint, n, "; did you mean %s.%s?", keys[best].section, keys[best].name);
    else if (strcmp(keys[best].section, section) == 0)
        snprintf(hint, n, "; did you mean '%s'?", keys[best].name);
    else
        snprintf(hint, n, "; did you mean '%s' in [%s]?", keys[best].name, keys[best].section);
}

static void unknown_section_hint(const char *name, char *hint, size_t n) {
    int best = -1, bestd = 3;
    for (int i = 0; i < NSECTIONS; i++) {
        int d = edit_distance(name, sections[i], 2);
        if (d < bestd) { best = i; bestd = d; }
    }
    if (best >= 0)
        snprintf(hint, n, "; did you mean [%s]?", sections[best]);
    else
        hint[0] = '\0';
}

/* ---- values ------------------------------------------------------------- */

/* "an integer in 1..64", "one of rnn|lstm", ... */
static void expected_form(const sc_key *k, char *buf, size_t n) {
    switch (k->type) {
    case KT_INT: snprintf(buf, n, "an integer in %.0f..%.0f", k->lo, k->hi); break;
    case KT_U64: snprintf(buf, n, "an unsigned integer in 0..%" PRIu64, UINT64_MAX); break;
    case KT_FLOAT: snprintf(buf, n, "a number in %g..%g", k->lo, k->hi); break;
    case KT_BOOL: snprintf(buf, n, "true/false, yes/no, on/off or 1/0"); break;
    case KT_ENUM: snprintf(buf, n, "one of %s", key_words(k)); break;
    case KT_STR: snprintf(buf, n, "a string of at most %zu bytes", k->size - 1); break;
    }
}

/* One value of any key type, as stored in sc_config. */
typedef union key_value {
    int i;
    uint64_t u;
    float f;
    char s[SC_CFG_STR];
} key_value;

/* Checks a stored value against its key's range or words. Returns 0, or -1
 * with the problem (without the expected form) in why. Used on freshly
 * parsed values and, by sc_config_validate, on the struct as the caller holds
 * it, so both report the same way. */
static int check_value(const sc_key *k, const void *field, char *why, size_t n) {
    switch (k->type) {
    case KT_INT: {
        int v;
        memcpy(&v, field, sizeof v);
        if (v < k->lo || v > k->hi) return snprintf(why, n, "out of range"), -1;
        return 0;
    }
    case KT_U64: return 0;
    case KT_FLOAT: {
        float v;
        memcpy(&v, field, sizeof v);
        if (!isfinite(v)) return snprintf(why, n, "not a finite number"), -1;
        if (v < (float)k->lo || v > (float)k->hi) return snprintf(why, n, "out of range"), -1;
        return 0;
    }
    case KT_BOOL: {
        int v;
        memcpy(&v, field, sizeof v);
        if (v != 0 && v != 1) return snprintf(why, n, "not a boolean"), -1;
        return 0;
    }
    case KT_ENUM: {
        const char *s = field;
        if (!memchr(s, '\0', k->size)) return snprintf(why, n, "not NUL-terminated"), -1;
        if (!words_contain(key_words(k), s, 0)) {
            if (words_contain(key_words(k), s, 1))
                return snprintf(why, n, "unknown word (words are case-sensitive)"), -1;
            return snprintf(why, n, "unknown word"), -1;
        }
        return 0;
    }
    case KT_STR: {
        const char *s = field;
        if (!memchr(s, '\0', k->size)) return snprintf(why, n, "not NUL-terminated"), -1;
        for (const char *p = s; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                return snprintf(why, n, "contains a control character"), -1;
        size_t len = strlen(s);
        if (len > 0 && (isspace((unsigned char)s[0]) || isspace((unsigned char)s[len - 1])))
            return snprintf(why, n, "has leading or trailing whitespace"), -1;
        /* Such a value would not read back from a config file. */
        if (find_comment(s))
            return snprintf(why, n, "';' or '#' at the start or after whitespace would start a comment"), -1;
        return 0;
    }
    }
    return 0;
}

/* Parses text (already trimmed) for key k into out (zero-filled first, so
 * string fields are byte-identical whatever they held). Returns 0, or -1
 * with the problem in why. */
static int parse_value(const sc_key *k, const char *text, key_value *out, char *why, size_t n) {
    memset(out, 0, sizeof *out);
    if (text[0] == '\0' && k->type != KT_STR) return snprintf(why, n, "missing value"), -1;
    char *end;
    switch (k->type) {
    case KT_INT: {
        errno = 0;
        long long v = strtoll(text, &end, 10);
        if (end == text || *end != '\0') return snprintf(why, n, "not an integer"), -1;
        if (errno == ERANGE || v < k->lo || v > k->hi) return snprintf(why, n, "out of range"), -1;
        out->i = (int)v;
        break;
    }
    case KT_U64: {
        if (text[0] == '-') return snprintf(why, n, "negative"), -1;
        errno = 0;
        unsigned long long v = strtoull(text, &end, 10);
        if (end == text || *end != '\0') return snprintf(why, n, "not an integer"), -1;
        if (errno == ERANGE) return snprintf(why, n, "out of range"), -1;
        out->u = (uint64_t)v;
        break;
    }
    case KT_FLOAT: {
        errno = 0;
        double v = strtod(text, &end);
        if (end == text || *end != '\0') return snprintf(why, n, "not a number"), -1;
        /* Overflow (1e999), underflow (1e-400), and anything a float cannot hold. */
        if (errno == ERANGE) return snprintf(why, n, "out of range"), -1;
        if (!isfinite(v)) return snprintf(why, n, "not a finite number"), -1;
        if (fabs(v) > FLT_MAX) return snprintf(why, n, "out of range"), -1;
        out->f = (float)v; /* ranges are compared in float, see check_value */
        break;
    }
    case KT_BOOL: {
        static const char *const yes[] = { "true", "yes", "on", "1" };
        static const char *const no[] = { "false", "no", "off", "0" };
        int v = -1;
        for (int i = 0; i < 4; i++) {
            if (strcasecmp(text, yes[i]) == 0) v = 1;
            if (strcasecmp(text, no[i]) == 0) v = 0;
        }
        if (v < 0) return snprintf(why, n, "not a boolean"), -1;
        out->i = v;
        break;
    }
    case KT_ENUM:
    case KT_STR: {
        size_t len = strlen(text);
        if (len >= k->size) {
            if (k->type == KT_ENUM) return snprintf(why, n, "unknown word"), -1;
            return snprintf(why, n, "too long (%zu bytes)", len), -1;
        }
        memcpy(out->s, text, len);
        break;
    }
    }
    return check_value(k, out, why, n);
}

static void store_value(sc_config *c, const sc_key *k, const key_value *v) {
    memcpy((char *)c + k->off, v, k->size);
}

/* Formats a float with the fewest significant digits that read back (through
 * parse_value's strtod-then-round) to exactly the same float: 0.001 prints as
 * "0.001", not "0.00100000005". Nine digits always suffice. */
static void format_float(float x, char *buf, size_t n) {
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, n, "%.*g", p, (double)x);
        if ((float)strtod(buf, NULL) == x) return;
    }
}

/* The value of key k in c, as it is written in a config file. */
static void format_value(const sc_config *c, const sc_key *k, char *buf, size_t n) {
    const char *field = (const char *)c + k->off;
    switch (k->type) {
    case KT_INT: {
        int v;
        memcpy(&v, field, sizeof v);
        snprintf(buf, n, "%d", v);
        break;
    }
    case KT_U64: {
        uint64_t v;
        memcpy(&v, field, sizeof v);
        snprintf(buf, n, "%" PRIu64, v);
        break;
    }
    case KT_FLOAT: {
        float v;
        memcpy(&v, field, sizeof v);
        format_float(v, buf, n);
        break;
    }
    case KT_BOOL: {
        int v;
        memcpy(&v, field, sizeof v);
        snprintf(buf, n, "%s", v ? "true" : "false");
        break;
    }
    case KT_ENUM:
    case KT_STR:
        snprintf(buf, n, "%.*s", (int)strnlen(field, k->size), field);
        break;
    }
}

/* ---- defaults ------------------------------------------------------------ */

void sc_config_defaults(sc_config *c) {
    memset(c, 0, sizeof *c);
    for (int i = 0; i < NKEYS; i++) {
        key_value v;
        char why[128];
        int rc = parse_value(&keys[i], keys[i].def, &v, why, sizeof why);
        assert(rc == 0 && "a default in keys[] is outside its own range");
        (void)rc;
        store_value(c, &keys[i], &v);
    }
}

/* ---- applying one key = value ------------------------------------------- */

/* Parses value for key index ki into c, touching c only on success. where is the message prefix that
 * names the input ("x.ini:12: [model] glimpses = 0" or "--set ..."). */
static int apply(sc_config *c, int ki, const char *value, const char *where, sc_err *err) {
    const sc_key *k = &keys[ki];
    key_value v;
    char why[160], expect[96];
    if (parse_value(k, value, &v, why, sizeof why) != 0) {
        expected_form(k, expect, sizeof expect);
        return sc_errf(err, SC_ECONFIG, "%s: %s, expected %s", where, why, expect);
    }
    store_value(c, k, &v);
    return SC_OK;
}

/* ---- the file reader ----------------------------------------------------- */

typedef struct loader {
    sc_config cfg;             /* the working copy */
    const char *path;
    int section;               /* index into sections[], -1 before the first header */
    int seen_line[NKEYS];      /* line where each key was set in this file, 0 if not */
} loader;

static int load_line(loader *L, char *raw, int lineno, sc_err *err) {
    char buf[104], hint[128];
    const char *comment = find_comment(raw);
    if (comment) raw[comment - raw] = '\0';
    char *line = trim(raw);
    if (line[0] == '\0') return SC_OK;

    if (line[0] == '[') {
        size_t len = strlen(line);
        if (line[len - 1] != ']' || memchr(line + 1, ']', len - 2) || memchr(line + 1, '[', len - 2))
            return sc_errf(err, SC_ECONFIG,
                           "%s:%d: '%s': malformed section header, expected [data], [model], "
                           "[train] or [log]",
                           L->path, lineno, clip(line, buf, sizeof buf));
        line[len - 1] = '\0';
        char *name = trim(line + 1);
        int s = find_section(name);
        if (s < 0) {
            unknown_section_hint(name, hint, sizeof hint);
            return sc_errf(err, SC_ECONFIG,
                           "%s:%d: [%s]: unknown section, expected [data], [model], [train] or [log]%s",
                           L->path, lineno, clip(name, buf, sizeof buf), hint);
        }
        L->section = s;
        return SC_OK;
    }

    char *eq = strchr(line, '=');
    if (!eq)
        return sc_errf(err, SC_ECONFIG,
                       "%s:%d: '%s': malformed line, expected [section], key = value or a comment",
                       L->path, lineno, clip(line, buf, sizeof buf));
    *eq = '\0';
    char *name = trim(line), *value = trim(eq + 1);
    if (name[0] == '\0')
        return sc_errf(err, SC_ECONFIG,
                       "%s:%d: '= %s': malformed line, missing the key before '='",
                       L->path, lineno, clip(value, buf, sizeof buf));
    if (L->section < 0)
        return sc_errf(err, SC_ECONFIG,
                       "%s:%d: '%s = %s': key outside any section, expected a [data], [model], "
                       "[train] or [log] header before it",
                       L->path, lineno, name, clip(value, buf, sizeof buf));

    const char *section = sections[L->section];
    char where[SC_CFG_STR + 300];
    snprintf(where, sizeof where, "%s:%d: [%s] %s =%s%s", L->path, lineno, section, name,
             value[0] ? " " : "", clip(value, buf, sizeof buf));
    int ki = find_key(section, name);
    if (ki < 0) {
        unknown_key_hint(section, name, 0, hint, sizeof hint);
        return sc_errf(err, SC_ECONFIG, "%s: unknown key in [%s]%s", where, section, hint);
    }
    if (L->seen_line[ki])
        return sc_errf(err, SC_ECONFIG, "%s: duplicate key, already set at line %d",
                       where, L->seen_line[ki]);
    L->seen_line[ki] = lineno;
    return apply(&L->cfg, ki, value, where, err);
}

static loader *loader_create(const sc_config *c, const char *name) {
    loader *L = calloc(1, sizeof *L);
    if (!L) return NULL;
    memcpy(&L->cfg, c, sizeof *c);
    L->path = name;
    L->section = -1;
    return L;
}

/* Records the provenance and commits the working copy to c. */
static void loader_commit(loader *L, sc_config *c) {
    size_t len = strlen(L->path); /* a name too long for the field is kept cut */
    if (len >= sizeof L->cfg.source_path) len = sizeof L->cfg.source_path - 1;
    memset(L->cfg.source_path, 0, sizeof L->cfg.source_path);
    memcpy(L->cfg.source_path, L->path, len);
    memcpy(c, &L->cfg, sizeof *c);
}

/* Strips a UTF-8 byte-order mark from the first line. */
static char *skip_bom(char *line, int lineno) {
    return lineno == 1 && strncmp(line, "\xEF\xBB\xBF", 3) == 0 ? line + 3 : line;
}

int sc_config_load(sc_config *c, const char *path, sc_err *err) {
    FILE *f = fopen(path, "r");
    if (!f) return sc_errf(err, SC_EIO, "cannot open config file %s: %s", path, strerror(errno));
    loader *L = loader_create(c, path);
    if (!L) {
        fclose(f);
        return sc_errf(err, SC_ENOMEM, "out of memory reading config file %s", path);
    }

    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0, rc = SC_OK;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if ((size_t)n != strlen(line)) {
            rc = sc_errf(err, SC_ECONFIG, "%s:%d: the line contains a NUL byte, expected text",
                         path, lineno);
            break;
        }
        rc = load_line(L, skip_bom(line, lineno), lineno, err);
        if (rc != SC_OK) break;
    }
    int read_errno = errno;
    if (rc == SC_OK && !feof(f))
        rc = sc_errf(err, SC_EIO, "cannot read config file %s: %s", path, strerror(read_errno));
    free(line);
    fclose(f);

    if (rc == SC_OK) loader_commit(L, c);
    free(L);
    return rc;
}

int sc_config_load_string(sc_config *c, const char *text, const char *name, sc_err *err) {
    loader *L = loader_create(c, name);
    char *copy = strdup(text);
    if (!L || !copy) {
        free(L);
        free(copy);
        return sc_errf(err, SC_ENOMEM, "out of memory reading the config text of %s", name);
    }
    int lineno = 0, rc = SC_OK;
    for (char *line = copy; line && rc == SC_OK;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        lineno++;
        rc = load_line(L, skip_bom(line, lineno), lineno, err);
        line = nl ? nl + 1 : NULL;
    }
    if (rc == SC_OK) loader_commit(L, c);
    free(copy);
    free(L);
    return rc;
}

/* ---- --set --------------------------------------------------------------- */

int sc_config_set(sc_config *c, const char *assignment, sc_err *err) {
    char buf[104], hint[128], where[160];
    snprintf(where, sizeof where, "--set %s", clip(assignment, buf, sizeof buf));
    char *text = strdup(assignment);
    if (!text) return sc_errf(err, SC_ENOMEM, "%s: out of memory", where);

    int rc;
    char *eq = strchr(text, '=');
    char *dot = eq ? memchr(text, '.', (size_t)(eq - text)) : NULL;
    char *section = text, *name = NULL, *value = NULL;
    if (eq && dot) {
        *eq = '\0';
        *dot = '\0';
        section = trim(text);
        name = trim(dot + 1);
        value = trim(eq + 1);
    }
    int s = -1, ki = -1;
    if (!eq || !dot || section[0] == '\0' || name[0] == '\0') {
        rc = sc_errf(err, SC_ECONFIG, "%s: malformed, expected section.key=value", where);
    } else if ((s = find_section(section)) < 0) {
        unknown_section_hint(section, hint, sizeof hint);
        rc = sc_errf(err, SC_ECONFIG, "%s: unknown section '%s', expected data, model, train or log%s",
                     where, clip(section, buf, sizeof buf), hint);
    } else if ((ki = find_key(section, name)) < 0) {
        unknown_key_hint(section, name, 1, hint, sizeof hint);
        rc = sc_errf(err, SC_ECONFIG, "%s: unknown key in [%s]%s", where, section, hint);
    } else {
        rc = apply(c, ki, value, where, err); /* stores only a value that passed */
    }
    free(text);
    return rc;
}

/* ---- cross-key checks ------------------------------------------------------ */

/* Whether the dataset is the user's own (idx, hdf5, folder): its image size is
 * known only once it is loaded. */
static int own_data(const sc_config *c) {
    return strncmp(c->dataset, "mnist", sizeof c->dataset) != 0 && strncmp(c->dataset, "fashion", sizeof c->dataset) != 0;
}

int sc_config_check_images(const sc_config *c, int h, int w, sc_err *err) {
    const int shorter = h < w ? h : w, longer = h < w ? w : h;
    int plain = strncmp(c->canvas, "plain", sizeof c->canvas) == 0;
    char dims[48];
    snprintf(dims, sizeof dims, "%dx%d", h, w);
    if (!plain && strncmp(c->canvas, "cluttered", sizeof c->canvas) == 0 && c->distractor_size > shorter)
        return sc_errf(err, SC_ECONFIG,
                       "[data] distractor_size = %d: distractors are cut from the %s images (height x width), "
                       "expected distractor_size <= %d",
                       c->distractor_size, dims, shorter);
    if (!plain && c->canvas_size < longer)
        return sc_errf(err, SC_ECONFIG,
                       "[data] canvas = %.*s with canvas_size = %d: the canvas must hold a %s "
                       "image (height x width), expected canvas_size >= %d",
                       (int)sizeof c->canvas, c->canvas, c->canvas_size, dims, longer);
    if (plain && c->shift >= shorter)
        return sc_errf(err, SC_ECONFIG, "[data] shift = %d: the images are %s (height x width), expected shift <= %d",
                       c->shift, dims, shorter - 1);
    int H = plain ? h : c->canvas_size, W = plain ? w : c->canvas_size;
    char canvas_desc[96];
    if (plain && h == 28 && w == 28)
        snprintf(canvas_desc, sizeof canvas_desc, "plain");
    else if (plain)
        snprintf(canvas_desc, sizeof canvas_desc, "plain, %s images", dims);
    else
        snprintf(canvas_desc, sizeof canvas_desc, "%.*s, canvas_size = %d",
                 (int)strnlen(c->canvas, sizeof c->canvas), c->canvas, c->canvas_size);
    /* The kind's own cross-key checks, through its row of the model table (an
     * unknown kind is refused by sc_config_validate's key check). */
    char kind[sizeof c->kind + 1];
    snprintf(kind, sizeof kind, "%.*s", (int)strnlen(c->kind, sizeof c->kind), c->kind);
    const sc_model_ops *ops = sc_model_ops_named(kind);
    if (ops && ops->check) {
        sc_model_cfg mc;
        sc_model_cfg_from_shape(&mc, c, H, W, 1, 10, 1);
        char msg[SC_ERR_MSG_MAX];
        if (ops->check(sc_model_kind_cfg(ops, &mc), canvas_desc, msg, sizeof msg) < 0)
            return sc_errf(err, SC_ECONFIG, "%s", msg);
    }
    return SC_OK;
}

int sc_config_validate(const sc_config *c, sc_err *err) {
    /* Rules between keys first: they name both keys. */
    int plain = strncmp(c->canvas, "plain", sizeof c->canvas) == 0;
    if (!plain && c->shift > 0)
        return sc_errf(err, SC_ECONFIG,
                       "[data] shift = %d with canvas = %.*s: shift moves plain canvases only (translated and "
                       "cluttered ones place the digit at random already), expected shift = 0",
                       c->shift, (int)sizeof c->canvas, c->canvas);
    /* Each dataset's own keys: given where it needs them, absent where it does not. */
    {
        const char *ds = c->dataset;
        int idx = !strncmp(ds, "idx", sizeof c->dataset), h5 = !strncmp(ds, "hdf5", sizeof c->dataset),
            folder = !strncmp(ds, "folder", sizeof c->dataset);
        const char *names[4] = {"train_images", "train_labels", "test_images", "test_labels"};
        const char *vals[4] = {c->train_images, c->train_labels, c->test_images, c->test_labels};
        for (int i = 0; i < 4; i++) {
            if (idx && !vals[i][0])
                return sc_errf(err, SC_ECONFIG, "[data] dataset = idx without %s: expected the four IDX files "
                               "train_images, train_labels, test_images and test_labels", names[i]);
            if (!idx && !h5 && vals[i][0])
                return sc_errf(err, SC_ECONFIG, "[data] %s with dataset = %.*s: it names an IDX file or an HDF5 "
                               "dataset, expected dataset = idx or hdf5 (or no %s)", names[i], (int)sizeof c->dataset,
                               ds, names[i]);
        }
        if (h5 && !c->data_file[0])
            return sc_errf(err, SC_ECONFIG, "[data] dataset = hdf5 without file: expected file = the HDF5 file");
        if (!h5 && c->data_file[0])
            return sc_errf(err, SC_ECONFIG, "[data] file with dataset = %.*s: it names an HDF5 file, expected "
                           "dataset = hdf5 (or no file)", (int)sizeof c->dataset, ds);
        if (folder && !c->data_dir[0])
            return sc_errf(err, SC_ECONFIG, "[data] dataset = folder without dir: expected dir = the folder "
                           "holding train/<class>/*.png and test/<class>/*.png");
        if ((idx || h5) && c->data_dir[0])
            return sc_errf(err, SC_ECONFIG, "[data] dir with dataset = %.*s: expected no dir (the files are "
                           "given by %s)", (int)sizeof c->dataset, ds, idx ? "train_images etc." : "file");
    }
    if (strncmp(c->lr_schedule, "linear", sizeof c->lr_schedule) == 0 && c->lr_final > c->lr) {
        char a[32], b[32];
        format_float(c->lr_final, a, sizeof a);
        format_float(c->lr, b, sizeof b);
        return sc_errf(err, SC_ECONFIG,
                       "[train] lr_final = %s > lr = %s with lr_schedule = linear: expected "
                       "lr_final <= lr (the rate decays)", a, b);
    }
    if (c->loc_std_final > 0 && c->loc_std_final > c->loc_std) {
        char a[32], b[32];
        format_float(c->loc_std_final, a, sizeof a);
        format_float(c->loc_std, b, sizeof b);
        return sc_errf(err, SC_ECONFIG,
                       "[model] loc_std_final = %s > loc_std = %s: expected loc_std_final <= "
                       "loc_std (the std decays), or 0 for a fixed std", a, b);
    }
    char kind[sizeof c->kind + 1];
    snprintf(kind, sizeof kind, "%.*s", (int)strnlen(c->kind, sizeof c->kind), c->kind);
    const sc_model_ops *ops = sc_model_ops_named(kind);
    if (ops && ops->max_threads > 0 && c->threads > ops->max_threads)
        return sc_errf(err, SC_ECONFIG,
                       "[train] threads = %d with [model] kind = %s: the %s model runs at most %d "
                       "worker threads, expected threads <= %d", c->threads, kind, kind, ops->max_threads,
                       ops->max_threads);
    /* MNIST and Fashion-MNIST are 28x28: the checks against the images now; a
     * user's own images are checked when they are loaded. */
    if (!own_data(c)) {
        int rc = sc_config_check_images(c, 28, 28, err);
        if (rc != SC_OK) return rc;
    }

    /* Then every key on its own, for configs changed in code after loading. */
    for (int i = 0; i < NKEYS; i++) {
        const sc_key *k = &keys[i];
        char why[160], expect[96], val[SC_CFG_STR + 16], buf[104];
        if (check_value(k, (const char *)c + k->off, why, sizeof why) != 0) {
            format_value(c, k, val, sizeof val);
            expected_form(k, expect, sizeof expect);
            return sc_errf(err, SC_ECONFIG, "[%s] %s = %s: %s, expected %s", k->section, k->name,
                           clip(val, buf, sizeof buf), why, expect);
        }
    }
    return SC_OK;
}

/* ---- writers ------------------------------------------------------------- */

int sc_config_write(const sc_config *c, FILE *f) {
    int bad = 0;
    bad |= fprintf(f, "# saccade configuration: every key, fully resolved.\n") < 0;
    if (c->source_path[0]) {
        /* A comment must stay on one line whatever the path holds. */
        char src[SC_CFG_STR];
        size_t i = 0;
        for (; i < sizeof src - 1 && c->source_path[i]; i++) {
            unsigned char ch = (unsigned char)c->source_path[i];
            src[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
        }
        src[i] = '\0';
        bad |= fprintf(f, "# Loaded from %s, with any --set overrides applied.\n", src) < 0;
    }
    for (int s = 0; s < NSECTIONS; s++) {
        bad |= fprintf(f, "\n[%s]\n", sections[s]) < 0;
        for (int i = 0; i < NKEYS; i++) {
            if (strcmp(keys[i].section, sections[s]) != 0) continue;
            char val[SC_CFG_STR + 16];
            format_value(c, &keys[i], val, sizeof val);
            if (val[0])
                bad |= fprintf(f, "%s = %s\n", keys[i].name, val) < 0;
            else
                bad |= fprintf(f, "%s =\n", keys[i].name) < 0;
        }
    }
    return bad || ferror(f) ? SC_EIO : SC_OK;
}

char *sc_config_to_string(const sc_config *c) {
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f) return NULL;
    int rc = sc_config_write(c, f);
    if (fclose(f) != 0 || rc != SC_OK) {
        free(buf);
        return NULL;
    }
    return buf;
}

void sc_config_doc(FILE *f) {
    static const char *const type_names[] = { "int", "uint64", "float", "bool", "enum", "string" };
    fprintf(f, "| section | key | type | default | range / values | meaning |\n");
    fprintf(f, "|---|---|---|---|---|---|\n");
    for (int i = 0; i < NKEYS; i++) {
        const sc_key *k = &keys[i];
        char range[128];
        switch (k->type) {
        case KT_INT: snprintf(range, sizeof range, "%.0f..%.0f", k->lo, k->hi); break;
        case KT_U64: snprintf(range, sizeof range, "0..2^64-1"); break;
        case KT_FLOAT: snprintf(range, sizeof range, "%g..%g", k->lo, k->hi); break;
        case KT_BOOL: snprintf(range, sizeof range, "true, false"); break;
        case KT_ENUM: {
            size_t j = 0;
            for (const char *p = key_words(k); *p && j < sizeof range - 3; p++) {
                if (*p == '|') {
                    range[j++] = ',';
                    range[j++] = ' ';
                } else {
                    range[j++] = *p;
                }
            }
            range[j] = '\0';
            break;
        }
        case KT_STR: snprintf(range, sizeof range, "up to %zu bytes", k->size - 1); break;
        }
        fprintf(f, "| %s | %s | %s | %s | %s | %s |\n", k->section, k->name, type_names[k->type],
                k->def[0] ? k->def : "\"\"", range, k->doc);
    }
}

int sc_config_nkeys(void) { return NKEYS; }

/* "section.key" of every key, made once (the table is constant). */
static char key_names[NKEYS][48];

const char *sc_config_key_name(int i) {
    if (i < 0 || i >= NKEYS) return NULL;
    if (!key_names[i][0]) snprintf(key_names[i], sizeof key_names[i], "%s.%s", keys[i].section, keys[i].name);
    return key_names[i];
}

void sc_config_key_value(const sc_config *c, int i, char *buf, size_t n) {
    if (i < 0 || i >= NKEYS) {
        if (n) buf[0] = '\0';
        return;
    }
    format_value(c, &keys[i], buf, n);
}

int sc_config_key_index(const char *section_key) {
    const char *dot = strchr(section_key, '.');
    if (!dot) return -1;
    for (int i = 0; i < NKEYS; i++)
        if (strlen(keys[i].section) == (size_t)(dot - section_key) &&
            !strncmp(keys[i].section, section_key, (size_t)(dot - section_key)) && !strcmp(keys[i].name, dot + 1))
            return i;
    return -1;
}

const char *sc_config_data_dir(const sc_config *c) {
    if (c->data_dir[0]) return c->data_dir;
    if (strncmp(c->dataset, "fashion", sizeof c->dataset) == 0)
        return "/usr/share/datasets/fashion-mnist";
    return "data/mnist";
}

static const char *const fashion_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

void sc_config_data_spec(const sc_config *c, sc_data_spec *spec) {
    memset(spec, 0, sizeof *spec);
    const char *ds = c->dataset;
    if (!strncmp(ds, "idx", sizeof c->dataset) || !strncmp(ds, "hdf5", sizeof c->dataset)) {
        spec->format = ds[0] == 'i' ? SC_DATA_IDX : SC_DATA_HDF5;
        spec->file = c->data_file;
        spec->paths[0] = c->train_images;
        spec->paths[1] = c->train_labels;
        spec->paths[2] = c->test_images;
        spec->paths[3] = c->test_labels;
        return;
    }
    if (!strncmp(ds, "folder", sizeof c->dataset)) {
        spec->format = SC_DATA_FOLDER;
        spec->dir = c->data_dir;
        return;
    }
    /* mnist and fashion: ten classes, labels 0..9 */
    spec->format = SC_DATA_MNIST_DIR;
    spec->dir = sc_config_data_dir(c);
    spec->num_classes = 10;
    spec->names = !strncmp(ds, "fashion", sizeof c->dataset) ? fashion_names : NULL;
}

const char *sc_config_data_where(const sc_config *c, char *buf, size_t n) {
    const char *ds = c->dataset;
    if (!strncmp(ds, "idx", sizeof c->dataset))
        snprintf(buf, n, "idx files %s, %s, %s, %s", c->train_images, c->train_labels, c->test_images, c->test_labels);
    else if (!strncmp(ds, "hdf5", sizeof c->dataset))
        snprintf(buf, n, "hdf5 file %s", c->data_file);
    else if (!strncmp(ds, "folder", sizeof c->dataset))
        snprintf(buf, n, "folder %s", c->data_dir);
    else
        snprintf(buf, n, "%.*s from %s", (int)strnlen(ds, sizeof c->dataset), ds, sc_config_data_dir(c));
    return buf;
}
