/* An external Disco map/reduce program (docs/jobs.md#external-programs) for the worker tests.
 * map: each input value (a line) -> a batch of (word + suffix, "1") pairs.
 * reduce: sums the values of each key, then writes one batch of (key, total) pairs.
 * Parameter "suffix" is appended to words; parameter "fail" makes it report **<ERR>. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char suffix[64] = "";
static int fail = 0;

static int read_exact(void *buf, size_t n) { return n == 0 || fread(buf, 1, n, stdin) == n; }

static char *read_item(uint32_t *len) {
    char *b;
    if (!read_exact(len, 4)) return NULL;
    b = malloc(*len + 1);
    if (!read_exact(b, *len)) { free(b); return NULL; }
    b[*len] = 0;
    return b;
}

static void write_item(const char *s, uint32_t n) { fwrite(&n, 4, 1, stdout); fwrite(s, 1, n, stdout); }

static void read_params(void) {
    long total = 0, klen, vlen;
    char *body, *p, *end;
    if (scanf("%ld", &total) != 1 || getchar() != '\n') exit(2);
    body = malloc(total + 1);
    if (!read_exact(body, total)) exit(2);
    body[total] = 0;
    for (p = body, end = body + total; p < end;) {
        klen = strtol(p, &p, 10); p++;
        char *key = p; p += klen + 1;
        vlen = strtol(p, &p, 10); p++;
        char *value = p; p += vlen + 1;
        if (klen == 6 && !strncmp(key, "suffix", 6) && vlen < 63) { memcpy(suffix, value, vlen); suffix[vlen] = 0; }
        if (klen == 4 && !strncmp(key, "fail", 4)) fail = 1;
    }
    free(body);
}

static void map(void) {
    uint32_t klen, vlen;
    char *k, *v, word[256];
    fprintf(stderr, "**<MSG> external map started\nplain stderr line\n");
    while ((k = read_item(&klen)) && (v = read_item(&vlen))) {
        uint32_t count = 0;
        char *save, *w;
        if (fail) { fprintf(stderr, "**<ERR> failing on purpose\n"); fflush(stderr); exit(1); }
        char *copy = strdup(v);
        for (w = strtok_r(copy, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) count++;
        free(copy);
        fwrite(&count, 4, 1, stdout);
        for (w = strtok_r(v, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
            snprintf(word, sizeof word, "%s%s", w, suffix);
            write_item(word, strlen(word));
            write_item("1", 1);
        }
        fflush(stdout);
        free(k); free(v);
    }
}

static void reduce(void) {
    char *keys[4096]; long sums[4096]; uint32_t n = 0, i, klen, vlen;
    char *k, *v, number[32];
    while ((k = read_item(&klen)) && (v = read_item(&vlen))) {
        for (i = 0; i < n && strcmp(keys[i], k); i++) ;
        if (i == n) { keys[n] = k; sums[n++] = 0; } else free(k);
        sums[i] += atol(v);
        free(v);
    }
    fwrite(&n, 4, 1, stdout);
    for (i = 0; i < n; i++) {
        snprintf(number, sizeof number, "%ld", sums[i]);
        write_item(keys[i], strlen(keys[i]));
        write_item(number, strlen(number));
    }
    fprintf(stderr, "**<MSG> external reduce wrote %u keys\n", n);
}

int main(int argc, char **argv) {
    read_params();
    if (argc > 1 && !strcmp(argv[1], "map")) map(); else reduce();
    return 0;
}
