#include "tests/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int testutil_run(Suite *suite)
{
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}

const char *testutil_tmpdir(void)
{
    static char path[512];
    const char *base = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/homing-test-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(path)) {
        perror("mkdtemp");
        abort();
    }
    return path;
}

const char *testutil_write_file(const char *dir, const char *name, const char *text)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(path);
        abort();
    }
    return path;
}

const char *testutil_program(const char *name)
{
    static char path[1024];
    const char *build = getenv("BUILD");
    snprintf(path, sizeof path, "%s/test/%s", build && *build ? build : "build", name);
    return path;
}

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *testutil_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

int testutil_wait_exit(pid_t pid, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    int status;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        if (r < 0 || now_ms() > deadline)
            break;
        poll(NULL, 0, 20);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

/* In a child: execv wants mutable strings, so hand it copies. */
static void exec_copy(const char *const argv[])
{
    size_t n = 0;
    while (argv[n])
        n++;
    char **copy = calloc(n + 1, sizeof *copy);
    for (size_t i = 0; copy && i < n; i++)
        copy[i] = strdup(argv[i]);
    if (copy)
        execv(copy[0], copy);
}

pid_t testutil_spawn(const char *const argv[], const char *log_path)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        int null = open("/dev/null", O_RDONLY);
        if (fd < 0 || null < 0)
            _exit(127);
        dup2(null, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        exec_copy(argv);
        _exit(127);
    }
    return pid;
}

bool testutil_wait_for_text(const char *path, const char *needle, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    do {
        char *text = testutil_read_file(path);
        bool found = text && strstr(text, needle);
        free(text);
        if (found)
            return true;
        poll(NULL, 0, 20);
    } while (now_ms() < deadline);
    return false;
}

int testutil_exec(const char *const argv[], const char *stdin_text, int timeout_ms,
                  char **out, char **err)
{
    char dir[512];
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/homing-exec-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir))
        return -1;
    char out_path[600], err_path[600], in_path[600];
    snprintf(out_path, sizeof out_path, "%s/stdout", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr", dir);
    snprintf(in_path, sizeof in_path, "%s/stdin", dir);
    testutil_write_file(dir, "stdin", stdin_text ? stdin_text : "");
    pid_t pid = fork();
    if (pid == 0) {
        int in = open(in_path, O_RDONLY);
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || o < 0 || e < 0)
            _exit(127);
        dup2(in, 0);
        dup2(o, 1);
        dup2(e, 2);
        exec_copy(argv);
        _exit(127);
    }
    int rc = pid > 0 ? testutil_wait_exit(pid, timeout_ms) : -1;
    if (out)
        *out = testutil_read_file(out_path);
    if (err)
        *err = testutil_read_file(err_path);
    unlink(out_path);
    unlink(err_path);
    unlink(in_path);
    rmdir(dir);
    return rc;
}
