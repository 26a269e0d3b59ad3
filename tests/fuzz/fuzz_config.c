/* fuzz_config.c - libFuzzer harness for the configuration parser
 * (experiments/config.c): INI text, --set overrides, the cross-key checks and
 * the written form.
 *
 * The input: byte 0 chooses the mode, the rest is text (cut at a NUL byte).
 *   even  the text is an INI file (sc_config_load_string on the defaults)
 *   odd   each line of the text is one --set override (sc_config_set), in turn
 * Promises checked: a failed load or override leaves the config unchanged and
 * its message is one line naming the input ("fuzz.ini:LINE" or "--set ...");
 * a config that loads passes or fails sc_config_validate with one line;
 * sc_config_to_string of it loads again and gives an equal config (every
 * key's value, and the struct byte for byte but for source_path); one key per
 * input, chosen by the input, spelled as sc_config_key_value spells it, is
 * accepted by sc_config_set and sets the key to itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiments/config.h"
#include "tests/fuzz/fuzz_common.h"

#define NAME "fuzz.ini"

/* The n bytes at a and b are equal. Not memcmp, and not instrumented: libFuzzer traces every
 * memcmp byte by byte for its dictionary, which on configs of kilobytes took most of the time. */
#if defined(__clang__)
#define FZ_NOT_TRACED __attribute__((no_sanitize("coverage")))
#else
#define FZ_NOT_TRACED
#endif
FZ_NOT_TRACED static int same_bytes(const void *a, const void *b, size_t n) {
    const unsigned char *x = a, *y = b;
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++) d |= (unsigned char)(x[i] ^ y[i]);
    return d == 0;
}

/* a and b hold the same configuration: the same bytes but for source_path. */
static int same_config(const sc_config *a, const sc_config *b) {
    sc_config x = *a, y = *b;
    memset(x.source_path, 0, sizeof x.source_path);
    memset(y.source_path, 0, sizeof y.source_path);
    return same_bytes(&x, &y, sizeof x);
}

/* The written form of c loads again as c; key `probe` (one per input, so that every key is
 * tried over a run at a fraction of the cost) spelled as sc_config_key_value spells it sets
 * the key to itself. */
static void round_trip(const sc_config *c, int probe) {
    char *text = sc_config_to_string(c);
    if (!text) fz_fail("sc_config_to_string returned NULL");
    sc_config back;
    sc_config_defaults(&back);
    sc_err err = {0};
    if (sc_config_load_string(&back, text, "written", &err) != SC_OK)
        fz_fail("the written config does not load: %s\n%s", err.msg, text);
    for (int k = 0; k < sc_config_nkeys(); k++) {
        char va[SC_CFG_STR + 16], vb[SC_CFG_STR + 16];
        sc_config_key_value(c, k, va, sizeof va);
        sc_config_key_value(&back, k, vb, sizeof vb);
        if (strcmp(va, vb)) fz_fail("key %s: '%s' written, '%s' read back", sc_config_key_name(k), va, vb);
        if (k != probe) continue;
        char set[SC_CFG_STR + 80];
        snprintf(set, sizeof set, "%s=%s", sc_config_key_name(k), va);
        sc_config again = back;
        if (sc_config_set(&again, set, &err) != SC_OK) fz_fail("--set %s refused: %s", set, err.msg);
        if (!same_config(&again, &back)) fz_fail("--set %s changed the config", set);
        if (sc_config_key_index(sc_config_key_name(k)) != k) fz_fail("sc_config_key_index(%s)", sc_config_key_name(k));
    }
    if (!same_config(c, &back)) fz_fail("the written config reads back different:\n%s", text);
    free(text);
    sc_err v1 = {0}, v2 = {0};
    int r1 = sc_config_validate(c, &v1), r2 = sc_config_validate(&back, &v2);
    fz_check_error("sc_config_validate", r1, &v1, NULL);
    if (r1 != r2 || strcmp(v1.msg, v2.msg)) fz_fail("validation differs after a round trip");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    char *text = malloc(size);
    if (!text) return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    sc_config c, before;
    sc_config_defaults(&c);
    before = c;
    sc_err err = {0};
    if (data[0] % 2 == 0) {
        int rc = sc_config_load_string(&c, text, NAME, &err);
        fz_check_error("sc_config_load_string", rc, &err, NAME ":");
        if (rc != SC_OK && !same_bytes(&c, &before, sizeof c)) fz_fail("a failed load changed the config");
    } else {
        for (char *line = text; line;) {
            char *nl = strchr(line, '\n');
            if (nl) *nl = '\0';
            sc_config prev = c;
            int rc = sc_config_set(&c, line, &err);
            fz_check_error("sc_config_set", rc, &err, "--set");
            if (rc != SC_OK && !same_bytes(&c, &prev, sizeof c)) fz_fail("a failed --set changed the config");
            line = nl ? nl + 1 : NULL;
        }
    }
    round_trip(&c, (int)((size + data[0]) % (size_t)sc_config_nkeys()));
    free(text);
    return 0;
}
