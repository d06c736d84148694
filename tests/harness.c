#include "tests/harness.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tests/testutil.h"

/* How long a test's connection waits for the daemon's write lock: the longest any test needed. */
#define BUSY_MS 10000
/* How long a simulator may take to answer one control line. */
#define CTL_REPLY_MS 10000

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- the files of one run -------------------------------------------------------- */

static void path_in(char *out, const char *dir, const char *name)
{
    if (out)
        snprintf(out, 700, "%s/%s", dir, name);
}

void harness_paths(const struct harness_paths *p)
{
    snprintf(p->dir, 512, "%s", testutil_tmpdir());
    path_in(p->conf, p->dir, "homing.conf");
    path_in(p->log, p->dir, "homing.log");
    path_in(p->db, p->dir, "homing.db");
    path_in(p->ctl, p->dir, "ctl");
    path_in(p->sim_out, p->dir, "sim.out");
    path_in(p->sub_log, p->dir, "submits.jsonl");
    path_in(p->port_file, p->dir, "port");
}

/* --- control sockets ------------------------------------------------------------ */

int harness_ctl_connect(const char *socket_path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    ck_assert_uint_lt(strlen(socket_path), sizeof sa.sun_path);
    memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "connect %s", socket_path);
    return fd;
}

/* Reads into reply until a newline, EOF or the deadline; true when a whole line came. */
static bool read_line(int fd, char *reply, size_t size)
{
    size_t n = 0;
    long long end = now_ms() + CTL_REPLY_MS;
    reply[0] = '\0';
    while (!strchr(reply, '\n') && n + 1 < size && now_ms() < end) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t got = read(fd, reply + n, size - 1 - n);
        if (got <= 0)
            break;
        n += (size_t)got;
        reply[n] = '\0';
    }
    char *nl = strchr(reply, '\n');
    if (nl)
        *nl = '\0';
    return nl != NULL;
}

const char *harness_ctl_reply(const char *socket_path, const char *cmd)
{
    static char reply[8192];
    int fd = harness_ctl_connect(socket_path);
    size_t len = strlen(cmd);
    ck_assert(write(fd, cmd, len) == (ssize_t)len && write(fd, "\n", 1) == 1);
    bool whole = read_line(fd, reply, sizeof reply);
    close(fd);
    return whole ? reply : NULL;
}

const char *harness_ctl(const char *socket_path, const char *cmd)
{
    const char *reply = harness_ctl_reply(socket_path, cmd);
    ck_assert_msg(reply && strncmp(reply, "ok", 2) == 0, "control '%s' answered '%s'", cmd,
                  reply ? reply : "(nothing)");
    return reply;
}

/* --- the database ------------------------------------------------------------------ */

void harness_sql(const char *db, const char *statements)
{
    sqlite3 *h;
    char *err = NULL;
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_busy_timeout(h, BUSY_MS);
    ck_assert_msg(sqlite3_exec(h, statements, NULL, NULL, &err) == SQLITE_OK, "%s: %s",
                  statements, err ? err : "");
    sqlite3_close(h);
}

/* Opens the database read-only and prepares `sql`; the caller binds, steps and finishes. */
static sqlite3_stmt *prepare(const char *db, const char *sql, sqlite3 **h)
{
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_open_v2(db, h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(*h, BUSY_MS);
    ck_assert_msg(sqlite3_prepare_v2(*h, sql, -1, &s, NULL) == SQLITE_OK, "%s: %s", sql,
                  sqlite3_errmsg(*h));
    return s;
}

/* Steps once; the first column as text into the static result ("" for none). */
static const char *first_text(sqlite3 *h, sqlite3_stmt *s)
{
    static char value[4096];
    value[0] = '\0';
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
        snprintf(value, sizeof value, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(h);
    return value;
}

const char *harness_query_text(const char *db, const char *sql, const char *arg)
{
    sqlite3 *h;
    sqlite3_stmt *s = prepare(db, sql, &h);
    if (sqlite3_bind_parameter_count(s) > 0)
        sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
    return first_text(h, s);
}

const char *harness_query_id(const char *db, const char *sql, int64_t arg)
{
    sqlite3 *h;
    sqlite3_stmt *s = prepare(db, sql, &h);
    if (sqlite3_bind_parameter_count(s) > 0)
        sqlite3_bind_int64(s, 1, arg);
    return first_text(h, s);
}

long long harness_query_int(const char *db, const char *sql)
{
    sqlite3 *h;
    sqlite3_stmt *s = prepare(db, sql, &h);
    long long v = -1;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(h);
    return v;
}

bool harness_wait_for_query_text(const char *db, const char *sql, const char *arg,
                                 const char *want, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        if (strcmp(harness_query_text(db, sql, arg), want) == 0)
            return true;
        usleep(100 * 1000);
    }
    fprintf(stderr, "query %s (%s) is '%s', wanted '%s'\n", sql, arg ? arg : "",
            harness_query_text(db, sql, arg), want);
    return false;
}

bool harness_wait_for_query_id(const char *db, const char *sql, int64_t arg, const char *want,
                               int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        if (strcmp(harness_query_id(db, sql, arg), want) == 0)
            return true;
        usleep(100 * 1000);
    }
    fprintf(stderr, "query %s (%lld) is '%s', wanted '%s'\n", sql, (long long)arg,
            harness_query_id(db, sql, arg), want);
    return false;
}

bool harness_wait_for_query_int(const char *db, const char *sql, long long want,
                                int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        if (harness_query_int(db, sql) == want)
            return true;
        usleep(100 * 1000);
    }
    fprintf(stderr, "%s: %lld, wanted %lld\n", sql, harness_query_int(db, sql), want);
    return false;
}

/* --- processes ----------------------------------------------------------------------- */

int harness_stop(pid_t *pid, int timeout_ms)
{
    if (*pid <= 0)
        return 0;
    kill(*pid, SIGTERM);
    int rc = testutil_wait_exit(*pid, timeout_ms);
    *pid = 0;
    return rc;
}

/* argv = fixed (NULL-ended) then extra (NULL-ended, or NULL), into out[max]. */
static void join_args(const char **out, size_t max, const char *const fixed[],
                      const char *const extra[])
{
    size_t n = 0;
    for (size_t i = 0; fixed[i] && n + 1 < max; i++)
        out[n++] = fixed[i];
    for (size_t i = 0; extra && extra[i] && n + 1 < max; i++)
        out[n++] = extra[i];
    out[n] = NULL;
}

pid_t harness_start_modem_sim(const char *dir, int modems, const char *ctl_path,
                              const char *log_path, const char *out_path,
                              const char *const extra[])
{
    char specs[4][600];
    const char *fixed[16] = { testutil_program("modem-sim"), "--control", ctl_path, "--log",
                              log_path };
    size_t n = 5;
    for (int i = 0; i < modems && i < 4; i++) {
        snprintf(specs[i], sizeof specs[i], "m%d:%s/m%d", i + 1, dir, i + 1);
        fixed[n++] = "--modem";
        fixed[n++] = specs[i];
    }
    const char *argv[32];
    join_args(argv, 32, fixed, extra);
    pid_t pid = testutil_spawn(argv, out_path);
    ck_assert_msg(testutil_wait_for_text(out_path, "modem-sim ready", 10000),
                  "modem-sim not ready");
    return pid;
}

/* The port in the file smsc-sim writes; the file may come a moment after its line. */
static int read_port_file(const char *port_file)
{
    char *text = NULL;
    for (int i = 0; i < 100 && !(text = testutil_read_file(port_file)); i++)
        usleep(50 * 1000);
    ck_assert_msg(text != NULL, "no %s", port_file);
    int port = atoi(text);
    free(text);
    ck_assert_int_gt(port, 0);
    return port;
}

pid_t harness_start_smsc_sim(const char *port_file, const char *ctl_path, const char *log_path,
                             const char *out_path, const char *const extra[], int *port)
{
    const char *fixed[12] = { testutil_program("smsc-sim"), "--listen", "127.0.0.1:0",
                              "--port-file", port_file };
    size_t n = 5;
    if (ctl_path) {
        fixed[n++] = "--control";
        fixed[n++] = ctl_path;
    }
    if (log_path) {
        fixed[n++] = "--log";
        fixed[n++] = log_path;
    }
    const char *argv[32];
    join_args(argv, 32, fixed, extra);
    pid_t pid = testutil_spawn(argv, out_path);
    ck_assert_msg(testutil_wait_for_text(out_path, "listening port=", 10000),
                  "smsc-sim not ready");
    *port = read_port_file(port_file);
    return pid;
}

int64_t harness_send(const char *conf_path, const char *to, const char *text, const char *route)
{
    const char *argv[] = { testutil_program("homing"), "send", "-c", conf_path, to, text,
                           route ? "--route" : NULL, route, NULL };
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(testutil_exec(argv, NULL, 20000, &out, &err), 0);
    int64_t id = atoll(out);
    free(out);
    free(err);
    return id;
}

/* --- logs ------------------------------------------------------------------------------ */

int harness_http_port(const char *log_path)
{
    char *log = testutil_read_file(log_path);
    const char *p = log ? strstr(log, "http listening on") : NULL;
    p = p ? strstr(p, "port=") : NULL;
    ck_assert_msg(p != NULL, "no 'http listening on ... port=' in %s", log_path);
    int port = atoi(p + 5);
    free(log);
    return port;
}

json_t *harness_jsonl(const char *path)
{
    json_t *list = json_array();
    char *text = testutil_read_file(path);
    for (char *save, *line = text ? strtok_r(text, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        json_error_t e;
        json_t *j = json_loads(line, 0, &e);
        ck_assert_msg(j != NULL, "bad log line: %s", line);
        json_array_append_new(list, j);
    }
    free(text);
    return list;
}

/* --- HTTP -------------------------------------------------------------------------------- */

static int http_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

/* Everything the server sends until it closes, as a malloc'd string. */
static char *read_all(int fd)
{
    size_t cap = 65536, got = 0;
    char *resp = malloc(cap);
    ssize_t r;
    ck_assert_ptr_nonnull(resp);
    while ((r = read(fd, resp + got, cap - got - 1)) > 0)
        got += (size_t)r;
    resp[got] = '\0';
    return resp;
}

int harness_http(int port, const char *method, const char *path, const char *token,
                 const char *type, const char *payload, char **body)
{
    int fd = http_connect(port);
    size_t len = payload ? strlen(payload) : 0;
    char *req = malloc(len + 1024);
    ck_assert_ptr_nonnull(req);
    int n = snprintf(req, len + 1024, "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                     "%s%s%s%s%s%sContent-Length: %zu\r\n\r\n%s", method, path,
                     token ? "Authorization: Bearer " : "", token ? token : "", token ? "\r\n" : "",
                     type ? "Content-Type: " : "", type ? type : "", type ? "\r\n" : "", len,
                     payload ? payload : "");
    ck_assert(write(fd, req, (size_t)n) == n);
    free(req);
    char *resp = read_all(fd);
    close(fd);
    int status = 0;
    sscanf(resp, "HTTP/1.1 %d", &status);
    const char *start = strstr(resp, "\r\n\r\n");
    *body = strdup(start ? start + 4 : "");
    free(resp);
    return status;
}
