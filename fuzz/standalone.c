/* standalone.c — runs the fuzz targets without libFuzzer (for gcc -fsanitize=address,undefined).
 *
 *   standalone_driver [-n|--iterations ITERATIONS] [-s|--seed SEED] [FILE|DIR]...
 *
 * Runs every file given (directories: every file in them), then ITERATIONS random inputs (default 20000)
 * made by mutating those files, or built-in seeds when none are given, each through every target: built
 * with -DASDK_FUZZ_ALL, the targets are fuzz_stream.c and fuzz_sse.c with their LLVMFuzzerTestOneInput
 * renamed (see build.sh); else the one LLVMFuzzerTestOneInput linked in. Prints the seed, so a failure can
 * be replayed with -s; the input that failed is also written to ./standalone-crash. */
#include <dirent.h>
#include <fcntl.h>
#include <sanitizer/common_interface_defs.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef ASDK_FUZZ_ALL
int fuzz_stream_input(const uint8_t *data, size_t size);
int fuzz_sse_input(const uint8_t *data, size_t size);
static int (*const targets[])(const uint8_t *, size_t) = { fuzz_stream_input, fuzz_sse_input };
#else
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static int (*const targets[])(const uint8_t *, size_t) = { LLVMFuzzerTestOneInput };
#endif

typedef struct {
    char *data;
    size_t len;
} blob;

static blob *seeds;
static const char *current;
static size_t current_len;

/* Called on a failed check (SIGABRT) or a sanitizer report: saves the input being run. */
static void save_current(void)
{
    int fd = open("standalone-crash", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        if (write(fd, current, current_len) < 0) { /* nothing more to do */ }
        close(fd);
    }
}

static void on_abort(int sig)
{
    save_current();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void run(const char *data, size_t len)
{
    current = data;
    current_len = len;
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) targets[i]((const uint8_t *)data, len);
}
static size_t nseeds;

static void add_seed(const char *data, size_t len)
{
    seeds = realloc(seeds, (nseeds + 1) * sizeof *seeds);
    if (!seeds) abort();
    seeds[nseeds].data = malloc(len ? len : 1);
    if (!seeds[nseeds].data) abort();
    memcpy(seeds[nseeds].data, data, len);
    seeds[nseeds++].len = len;
}

static void load_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    do {
        if (cap - len < 65536) {
            cap = cap * 2 + 65536;
            buf = realloc(buf, cap);
            if (!buf) abort();
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    fclose(f);
    run(buf, len);
    add_seed(buf, len);
    free(buf);
}

static void load(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        exit(2);
    }
    if (!S_ISDIR(st.st_mode)) {
        load_file(path);
        return;
    }
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", path, e->d_name);
        load(full);
    }
    if (d) closedir(d);
}

static uint64_t rng;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static const char *const tokens[] = {
    "\n", "\r\n", "\r", "{", "}", "[", "]", "\"", "\\", "\\u", "\\ud83d", "\\udc00", "\\u0000", ":", ",",
    "\"type\":", "\"text\"", "\"tool_use\"", "\"tool_result\"", "\"content\":", "\"message\":{", "\"usage\":{",
    "\"input\":", "\"is_error\":true", "\"event\":{\"delta\":{", "\"text_delta\"", "\xff", "\xc0\x80", "\xed\xa0\x80",
    "\xf4\x90\x80\x80", "\xe2\x86\x92", "1e999", "-0", "12345678901234567890123", " ", "\t", "null", "true",
    /* SSE and the Messages / chat-completions events */
    "\n\n", "\r\r", "data: ", "data:", "event: ", "id: ", "retry: 10", ": ping\n", "\xef\xbb\xbf", "[DONE]",
    "\"index\":0", "\"index\":1", "\"content_block_delta\"", "\"content_block_start\"", "\"content_block_stop\"",
    "\"message_delta\"", "\"message_stop\"", "\"text_delta\"", "\"input_json_delta\"", "\"partial_json\":\"",
    "\"tool_calls\":[{", "\"arguments\":", "\"finish_reason\":\"stop\"", "\"usage\":{\"output_tokens\":",
};

/* Applies 1..8 random edits to buf (capacity cap), returns the new length. */
static size_t mutate(char *buf, size_t len, size_t cap)
{
    int edits = 1 + (int)(next() % 8);
    while (edits--) {
        size_t at = len ? next() % (len + 1) : 0;
        switch (next() % 5) {
        case 0: /* flip a byte */
            if (len) buf[next() % len] ^= (char)(1u << (next() % 8));
            break;
        case 1: { /* insert a token */
            const char *t = tokens[next() % (sizeof tokens / sizeof tokens[0])];
            size_t n = strlen(t);
            if (len + n > cap) break;
            memmove(buf + at + n, buf + at, len - at);
            memcpy(buf + at, t, n);
            len += n;
            break;
        }
        case 2: /* delete a range */
            if (at < len) {
                size_t n = 1 + next() % (len - at);
                if (n > 64) n = 1 + n % 64;
                memmove(buf + at, buf + at + n, len - at - n);
                len -= n;
            }
            break;
        case 3: /* duplicate a range */
            if (at < len) {
                size_t n = 1 + next() % (len - at);
                if (n > 512) n = 512;
                if (len + n > cap) break;
                memmove(buf + at + n, buf + at, len - at);
                len += n;
            }
            break;
        default: /* change the max_line byte */
            if (len) buf[0] = (char)next();
            break;
        }
    }
    return len;
}

int main(int argc, char **argv)
{
    long iterations = 20000;
    uint64_t seed = 0;
    signal(SIGABRT, on_abort);
    __sanitizer_set_death_callback(save_current);
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "-n") || !strcmp(argv[i], "--iterations")) && i + 1 < argc) iterations = atol(argv[++i]);
        else if ((!strcmp(argv[i], "-s") || !strcmp(argv[i], "--seed")) && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
        else load(argv[i]);
    }
    if (!nseeds) {
        static const char *const builtin[] = {
            "\xff{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"s\",\"tools\":[\"Read\"],\"model\":\"m\"}\n",
            "\xff{\"type\":\"assistant\",\"message\":{\"content\":[{\"type\":\"text\",\"text\":\"hi\"},{\"type\":"
            "\"tool_use\",\"id\":\"t\",\"name\":\"Read\",\"input\":{\"a\":[1,2.5,null]}}],\"usage\":{\"x\":1}}}\r\n",
            "\x05{\"type\":\"user\",\"message\":{\"content\":[{\"content\":[{\"text\":\"a\",\"type\":\"text\"}],"
            "\"type\":\"tool_result\",\"is_error\":true}]}}\nnot json\n\n{\"type\":\"result\",\"result\":\"ok\"}",
        };
        for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++) add_seed(builtin[i], strlen(builtin[i]));
    }
    if (!seed) seed = 0x9E3779B97F4A7C15u ^ (uint64_t)(uintptr_t)&seed;
    rng = seed;
    printf("standalone: %zu seed inputs, %ld random inputs, -s %llu\n", nseeds, iterations, (unsigned long long)seed);
    fflush(stdout);

    size_t cap = 1 << 20;
    char *buf = malloc(cap);
    if (!buf) abort();
    for (long i = 0; i < iterations; i++) {
        const blob *b = &seeds[next() % nseeds];
        size_t len = b->len < cap ? b->len : cap;
        memcpy(buf, b->data, len);
        len = mutate(buf, len, cap);
        /* A fresh allocation of exactly len bytes, so ASan sees any read past the end. */
        char *input = malloc(len ? len : 1);
        if (!input) abort();
        memcpy(input, buf, len);
        run(input, len);
        free(input);
    }
    free(buf);
    for (size_t i = 0; i < nseeds; i++) free(seeds[i].data);
    free(seeds);
    puts("standalone: ok");
    return 0;
}
