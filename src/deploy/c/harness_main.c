/* ---- distrinas harness (host only): reads a dataset file of the scenario's kind,
 * standardises and quantises each case exactly as distrinas does, runs the chained
 * partitions through their message buffers, and prints one JSON object:
 *   {"accuracy": ..., "samples": N, "correct": K}
 * Usage: harness [DATA_FILE] [--logits OUT.bin]  (default DATA_FILE: the exported
 * test set beside the program). --logits writes every case's int8 logits, case after
 * case. Errors go to stderr as `file:line: message` with exit status 1. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *dn_file;

static void dn_fail(long line, const char *msg, const char *what) {
    if (line > 0) {
        fprintf(stderr, "%s:%ld: %s%s\n", dn_file, line, msg, what ? what : "");
    } else {
        fprintf(stderr, "%s: %s%s\n", dn_file, msg, what ? what : "");
    }
    exit(1);
}

static char *dn_trim(char *s) {
    while (*s && isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

static int dn_is_missing(const char *t) {
    return strcmp(t, "?") == 0 || strcmp(t, "") == 0 ||
           ((t[0] == 'n' || t[0] == 'N') && (t[1] == 'a' || t[1] == 'A') &&
            (t[2] == 'n' || t[2] == 'N') && t[3] == '\0');
}

/* Parses one value into *v (NAN for missing); 0 if it is not a number. */
static int dn_value(char *tok, float *v) {
    char *t = dn_trim(tok), *end;
    if (dn_is_missing(t)) {
        *v = NAN;
        return 1;
    }
    *v = strtof(t, &end);
    return end != t && *end == '\0' && isfinite(*v);
}

static int dn_label(char *tok, long line) {
    char *t = dn_trim(tok);
    for (int k = 0; k < DN_CLASSES; k++) {
        if (strcmp(t, dn_classes[k]) == 0) return k;
    }
    dn_fail(line, "class not among the training classes: ", t);
    return -1;
}

/* Parses one data line into raw[DN_LENGTH * DN_CHANNELS] (time-major, NAN = missing
 * or padding); returns the label, or -1 for a line to skip. */
static int dn_parse_line(char *line, long no, float *raw, int *header_seen) {
    char *s = dn_trim(line);
    if (*s == '\0' || *s == '#') return -1;
    for (int i = 0; i < DN_LENGTH * DN_CHANNELS; i++) raw[i] = NAN;
#if DN_KIND_TS
    if (!*header_seen) {
        if (*s != '@') dn_fail(no, "expected a `@` header line or `@data`", NULL);
        if (strncmp(s, "@data", 5) == 0 || strncmp(s, "@DATA", 5) == 0) *header_seen = 1;
        return -1;
    }
    char *colon = strrchr(s, ':');
    if (!colon) dn_fail(no, "a case needs dimensions and a label separated by `:`", NULL);
    *colon = '\0';
    int label = dn_label(colon + 1, no);
    int c = 0;
    char *dim = s;
    while (dim) {
        char *next = strchr(dim, ':');
        if (next) *next++ = '\0';
        if (c >= DN_CHANNELS) dn_fail(no, "too many dimensions for the network input", NULL);
        int t = 0;
        char *tok = dim;
        while (tok) {
            char *comma = strchr(tok, ',');
            if (comma) *comma++ = '\0';
            float v;
            if (!dn_value(tok, &v)) dn_fail(no, "not a number: ", dn_trim(tok));
            if (t < DN_LENGTH) raw[t * DN_CHANNELS + c] = v;
            t++;
            tok = comma;
        }
        c++;
        dim = next;
    }
    if (c != DN_CHANNELS) dn_fail(no, "too few dimensions for the network input", NULL);
    return label;
#else
    /* CSV: features..., label; an optional header row first. */
    char *fields[DN_LENGTH * DN_CHANNELS + 1];
    int n = 0;
    char *tok = s;
    while (tok) {
        char *comma = strchr(tok, ',');
        if (comma) *comma++ = '\0';
        if (n > DN_LENGTH * DN_CHANNELS) dn_fail(no, "too many columns for the network input", NULL);
        fields[n++] = tok;
        tok = comma;
    }
    if (!*header_seen) {
        *header_seen = 1;
        char *f0 = dn_trim(fields[0]), *end;
        if (n > 1 && !dn_is_missing(f0)) {
            strtod(f0, &end);
            if (end == f0 || *end != '\0') return -1; /* a header row */
        }
    }
    if (n != DN_LENGTH * DN_CHANNELS + 1) dn_fail(no, "wrong number of columns for the network input", NULL);
    for (int i = 0; i < n - 1; i++) {
        if (!dn_value(fields[i], &raw[i])) dn_fail(no, "not a number: ", dn_trim(fields[i]));
    }
    return dn_label(fields[n - 1], no);
#endif
}

/* Standardises (per channel, as distrinas) and quantises one case into the input. */
static void dn_quantize(const float *raw, int8_t *q) {
    for (int i = 0; i < DN_LENGTH * DN_CHANNELS; i++) {
        int c = i % DN_CHANNELS;
        float x = isnan(raw[i]) ? 0.0f : (float)(((double)raw[i] - dn_mean[c]) / dn_std[c]);
        float r = roundf(x / DN_INPUT_SCALE);
        if (r > 1000.0f) r = 1000.0f;
        if (r < -1000.0f) r = -1000.0f;
        int32_t v = (int32_t)r + DN_INPUT_ZERO;
        q[i] = (int8_t)(v < -128 ? -128 : (v > 127 ? 127 : v));
    }
}

static int dn_argmax(const int8_t *v, int n) {
    int best = 0;
    for (int i = 1; i < n; i++) {
        if (v[i] > v[best]) best = i;
    }
    return best;
}

int main(int argc, char **argv) {
    const char *data = NULL, *logits_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--logits") == 0 && i + 1 < argc) {
            logits_path = argv[++i];
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: %s [DATA_FILE] [--logits OUT.bin]\n", argv[0]);
            return 2;
        } else {
            data = argv[i];
        }
    }
    static char def[4096];
    if (!data) {
        const char *slash = strrchr(argv[0], '/');
        size_t dir = slash ? (size_t)(slash - argv[0] + 1) : 0;
        if (dir + strlen(DN_TEST_FILE) + 1 > sizeof def) return 2;
        memcpy(def, argv[0], dir);
        strcpy(def + dir, DN_TEST_FILE);
        data = def;
    }
    dn_file = data;
    FILE *f = fopen(data, "rb");
    if (!f) dn_fail(0, "cannot open the file", NULL);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)size + 1);
    if (!text || fread(text, 1, (size_t)size, f) != (size_t)size) dn_fail(0, "cannot read the file", NULL);
    fclose(f);
    text[size] = '\0';
    if (size >= 2 && (unsigned char)text[0] == 0x1f && (unsigned char)text[1] == 0x8b) {
        dn_fail(0, "gzip-compressed: decompress it first (gunzip -k)", NULL);
    }
    FILE *lf = NULL;
    if (logits_path && !(lf = fopen(logits_path, "wb"))) {
        dn_file = logits_path;
        dn_fail(0, "cannot write the logits file", NULL);
    }
    static float raw[DN_LENGTH * DN_CHANNELS];
    int8_t logits[DN_CLASSES];
    long samples = 0, correct = 0, no = 0;
    int header_seen = 0;
    char *line = text;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl) *nl++ = '\0';
        no++;
        int label = dn_parse_line(line, no, raw, &header_seen);
        line = nl;
        if (label < 0) continue;
        dn_quantize(raw, dn_input());
        dn_chain(logits);
        if (lf) fwrite(logits, 1, DN_CLASSES, lf);
        samples++;
        correct += dn_argmax(logits, DN_CLASSES) == label;
    }
    if (lf) fclose(lf);
    free(text);
    if (samples == 0) dn_fail(0, "no cases", NULL);
    printf("{\"accuracy\": %.17g, \"samples\": %ld, \"correct\": %ld}\n",
           (double)correct / (double)samples, samples, correct);
    return 0;
}
