/* 第三章 3.2 的 C 部分：与 Go、Python 版相同的三个 CPU 密集内核（朴素循环、n 体模拟、词频统计）。
 *
 * 由引擎在构建时用 gcc -O2 编译（按源码哈希缓存）。计时按 timeit 的规则：先按试测耗时定下循环次数，
 * 使一次取样不短于 --min-time 秒，再测 --rounds 轮，每轮三个内核轮流各测一次（每轮换个起点）。
 * --once 只把一个内核跑一遍并打印校验值：驱动程序据此量整个进程的峰值常驻内存。
 * 标准输出只有一个 JSON 对象。
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
#include <search.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* --8<-- [start:add] */
int64_t add(int64_t a, int64_t b) { return a + b; }

/* 最朴素的 CPU 密集循环：每次迭代调用一次 add；gcc -O2 把 add 内联进循环。 */
int64_t sum_loop(int64_t n) {
    int64_t total = 0;
    for (int64_t i = 0; i < n; i++) total = add(total, i % 7);
    return total;
}
/* --8<-- [end:add] */

/* --8<-- [start:nbody] */
#define SOLAR_MASS (4 * M_PI * M_PI)
#define DAYS_PER_YEAR 365.24
#define NBODIES 5

typedef struct {
    double x, y, z, vx, vy, vz, mass;
} body;

static void planets(body *b) {
    const body init[NBODIES] = {
        {0, 0, 0, 0, 0, 0, SOLAR_MASS},
        {4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
         1.66007664274403694e-03 * DAYS_PER_YEAR, 7.69901118419740425e-03 * DAYS_PER_YEAR,
         -6.90460016972063023e-05 * DAYS_PER_YEAR, 9.54791938424326609e-04 * SOLAR_MASS},
        {8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
         -2.76742510726862411e-03 * DAYS_PER_YEAR, 4.99852801234917238e-03 * DAYS_PER_YEAR,
         2.30417297573763929e-05 * DAYS_PER_YEAR, 2.85885980666130812e-04 * SOLAR_MASS},
        {1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
         2.96460137564761618e-03 * DAYS_PER_YEAR, 2.37847173959480950e-03 * DAYS_PER_YEAR,
         -2.96589568540237556e-05 * DAYS_PER_YEAR, 4.36624404335156298e-05 * SOLAR_MASS},
        {1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
         2.68067772490389322e-03 * DAYS_PER_YEAR, 1.62824170038242295e-03 * DAYS_PER_YEAR,
         -9.51592254519715870e-05 * DAYS_PER_YEAR, 5.15138902046611451e-05 * SOLAR_MASS},
    };
    memcpy(b, init, sizeof init);
}

/* 模拟 steps 步（每步 0.01 年），返回结束时系统的总能量；运算顺序与 Go、Python 版相同。 */
double nbody(int steps) {
    body bs[NBODIES];
    planets(bs);
    double px = 0, py = 0, pz = 0;
    for (int i = 0; i < NBODIES; i++) {
        px += bs[i].vx * bs[i].mass;
        py += bs[i].vy * bs[i].mass;
        pz += bs[i].vz * bs[i].mass;
    }
    bs[0].vx = -px / SOLAR_MASS;
    bs[0].vy = -py / SOLAR_MASS;
    bs[0].vz = -pz / SOLAR_MASS;
    const double dt = 0.01;
    for (int s = 0; s < steps; s++) {
        for (int i = 0; i < NBODIES; i++) {
            body *bi = &bs[i];
            for (int j = i + 1; j < NBODIES; j++) {
                body *bj = &bs[j];
                double dx = bi->x - bj->x, dy = bi->y - bj->y, dz = bi->z - bj->z;
                double d2 = dx * dx + dy * dy + dz * dz;
                double mag = dt / (d2 * sqrt(d2));
                bi->vx -= dx * bj->mass * mag;
                bi->vy -= dy * bj->mass * mag;
                bi->vz -= dz * bj->mass * mag;
                bj->vx += dx * bi->mass * mag;
                bj->vy += dy * bi->mass * mag;
                bj->vz += dz * bi->mass * mag;
            }
        }
        for (int i = 0; i < NBODIES; i++) {
            bs[i].x += dt * bs[i].vx;
            bs[i].y += dt * bs[i].vy;
            bs[i].z += dt * bs[i].vz;
        }
    }
    double e = 0;
    for (int i = 0; i < NBODIES; i++) {
        body *bi = &bs[i];
        e += 0.5 * bi->mass * (bi->vx * bi->vx + bi->vy * bi->vy + bi->vz * bi->vz);
        for (int j = i + 1; j < NBODIES; j++) {
            body *bj = &bs[j];
            double dx = bi->x - bj->x, dy = bi->y - bj->y, dz = bi->z - bj->z;
            e -= bi->mass * bj->mass / sqrt(dx * dx + dy * dy + dz * dz);
        }
    }
    return e;
}
/* --8<-- [end:nbody] */

/* n 个以空格分隔的词，与 Go、Python 版用同一个线性同余序列挑词。 */
static char *make_text(long n, long vocab, size_t *len) {
    char *text = malloc((size_t)n * 24 + 1), *p = text;
    uint64_t x = 42;
    for (long i = 0; i < n; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        p += sprintf(p, i ? " w%llu" : "w%llu", (unsigned long long)((x >> 33) % (uint64_t)vocab));
    }
    *len = (size_t)(p - text);
    return text;
}

/* --8<-- [start:words] */
/* 统计每个词出现的次数（glibc 的 hsearch_r 哈希表），返回不同词的个数，*top 为最高的次数。 */
long word_count(const char *text, size_t len, long max_words, char *scratch, long *top) {
    struct hsearch_data table = {0};
    if (!hcreate_r((size_t)max_words + 1, &table)) abort();
    memcpy(scratch, text, len + 1); /* 词要以 '\0' 结尾：在副本上切分 */
    long distinct = 0;
    *top = 0;
    char *save = NULL;
    for (char *w = strtok_r(scratch, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        ENTRY item = {.key = w, .data = 0}, *found;
        if (!hsearch_r(item, ENTER, &found, &table)) abort();
        if (found->data == 0) distinct++;
        long c = (long)(intptr_t)found->data + 1;
        found->data = (void *)(intptr_t)c;
        if (c > *top) *top = c;
    }
    hdestroy_r(&table);
    return distinct;
}
/* --8<-- [end:words] */

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double peak_rss(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss * 1024.0; /* Linux 上 ru_maxrss 以 KiB 计 */
}

/* 输入经 volatile 读出，结果写进 volatile：编译器不能把调用提出计时循环，也不能删掉它。 */
static volatile long v_loop_n, v_steps;
static volatile int64_t sink_i;
static volatile double sink_d;
static char *g_text, *g_scratch;
static size_t g_len;
static long g_words;

static void call(int k) {
    long top;
    switch (k) {
    case 0: sink_i = sum_loop(v_loop_n); break;
    case 1: sink_d = nbody((int)v_steps); break;
    default: sink_i = word_count(g_text, g_len, g_words, g_scratch, &top) + top;
    }
}

static double per_call(int k, long loops) {
    double t0 = now();
    for (long i = 0; i < loops; i++) call(k);
    return (now() - t0) / loops;
}

/* 先跑一次（预热），再按试测耗时放大循环次数，使一次取样不短于 min_time 秒。 */
static long calibrate(int k, double min_time) {
    call(k);
    long n = 1;
    for (;;) {
        double elapsed = per_call(k, n) * n;
        if (elapsed >= min_time / 4) return (long)ceil(n * min_time / elapsed);
        long grow = (long)ceil(n * min_time / 4 / (elapsed > 1e-9 ? elapsed : 1e-9));
        n = grow > 2 * n ? grow : 2 * n;
    }
}

static const char *NAMES[3] = {"loop", "nbody", "words"};
static const char *LABELS[3] = {"朴素循环", "n 体模拟", "词频统计"};

static int kernel_index(const char *name) {
    for (int k = 0; k < 3; k++)
        if (strcmp(name, NAMES[k]) == 0) return k;
    fprintf(stderr, "unknown kernel %s (loop, nbody, words)\n", name);
    exit(2);
}

int main(int argc, char **argv) {
    long loop_n = 200000, steps = 2000, words_n = 50000, vocab = 5000, rounds = 3;
    double min_time = 0.02;
    const char *kernels = "loop,nbody,words", *once = NULL;
    static struct option opts[] = {
        {"loop-n", required_argument, 0, 'l'}, {"nbody-steps", required_argument, 0, 's'},
        {"words-n", required_argument, 0, 'w'}, {"vocab", required_argument, 0, 'v'},
        {"rounds", required_argument, 0, 'r'}, {"min-time", required_argument, 0, 't'},
        {"kernels", required_argument, 0, 'k'}, {"once", required_argument, 0, 'o'},
        {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (c) {
        case 'l': loop_n = atol(optarg); break;
        case 's': steps = atol(optarg); break;
        case 'w': words_n = atol(optarg); break;
        case 'v': vocab = atol(optarg); break;
        case 'r': rounds = atol(optarg); break;
        case 't': min_time = atof(optarg); break;
        case 'k': kernels = optarg; break;
        case 'o': once = optarg; break;
        default: return 2;
        }
    }
    if (loop_n < 0 || steps < 0 || words_n < 1 || vocab < 1 || rounds < 1 || min_time <= 0) {
        fprintf(stderr, "sizes must be positive\n");
        return 2;
    }
    v_loop_n = loop_n;
    v_steps = steps;
    g_words = words_n;
    int only = once ? kernel_index(once) : -1;
    printf("{\"info\": {\"compiler\": \"gcc %s\", \"loop_n\": %ld, \"nbody_steps\": %ld, "
           "\"words_n\": %ld, \"vocab\": %ld, \"min_time_s\": %g, \"rounds\": %ld, \"checksums\": {",
           __VERSION__, loop_n, steps, words_n, vocab, min_time, rounds);
    /* 只准备要跑的内核的输入：量峰值内存时，进程里不该有别的内核的数据 */
    const char *sep = "";
    if (only < 0 || only == 0) {
        printf("\"loop\": %lld", (long long)sum_loop(loop_n));
        sep = ", ";
    }
    if (only < 0 || only == 1) {
        printf("%s\"nbody\": \"%.12f\"", sep, nbody((int)steps));
        sep = ", ";
    }
    if (only < 0 || only == 2) {
        g_text = make_text(words_n, vocab, &g_len);
        g_scratch = malloc(g_len + 1);
        long top, distinct = word_count(g_text, g_len, g_words, g_scratch, &top);
        printf("%s\"words\": [%ld, %ld]", sep, distinct, top);
    }
    printf("}");
    if (once) {
        int k = only;
        double rss = peak_rss();
        printf(", \"kernel\": \"%s\", \"peak_rss_B\": %.0f}, \"metrics\": {\"peak_rss_B\": "
               "{\"label\": \"峰值常驻内存（%s跑一遍）\", \"unit\": \"B\", \"values\": [%.0f]}}}\n",
               once, rss, LABELS[k], rss);
        return 0;
    }
    int chosen[3], m = 0;
    char list[64];
    snprintf(list, sizeof list, "%s", kernels);
    char *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t && m < 3; t = strtok_r(NULL, ",", &save))
        chosen[m++] = kernel_index(t);
    long loops[3];
    double samples[3][64];
    if (rounds > 64) rounds = 64;
    for (int i = 0; i < m; i++) loops[i] = calibrate(chosen[i], min_time);
    for (long r = 0; r < rounds; r++)
        for (int i = 0; i < m; i++) {
            int j = (int)((i + r) % m);
            samples[j][r] = per_call(chosen[j], loops[j]);
        }
    printf(", \"peak_rss_B\": %.0f}, \"metrics\": {", peak_rss());
    for (int i = 0; i < m; i++) {
        printf("%s\"%s_s\": {\"label\": \"C：%s，每次调用\", \"unit\": \"s\", \"values\": [",
               i ? ", " : "", NAMES[chosen[i]], LABELS[chosen[i]]);
        for (long r = 0; r < rounds; r++) printf("%s%.9e", r ? ", " : "", samples[i][r]);
        printf("]}");
    }
    printf("}}\n");
    return 0;
}
