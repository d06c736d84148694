/*
 * harness: what the integration tests share beyond testutil.
 *
 * The integration tests drive the real daemon against the real simulators and
 * then look at what happened: in the simulators' control sockets and logs, in
 * the sqlite database on disk, over HTTP on loopback. These helpers are those
 * looks, written once. Each asserts (Check) where a failure means the test
 * cannot go on; results that are strings live in static storage, overwritten
 * by the next call of the same helper, so copy what must outlive it.
 */
#ifndef HOMING_HARNESS_H
#define HOMING_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* --- the files of one run ------------------------------------------------------ */

/* Where harness_paths writes: dir is char[512], every other one char[700]. */
struct harness_paths {
    char *dir;                   /* a fresh directory under $TMPDIR */
    char *conf, *log, *db;       /* homing.conf, homing.log, homing.db */
    char *ctl, *sim_out;         /* the simulator's control socket "ctl", its output "sim.out" */
    char *sub_log, *port_file;   /* its submit log "submits.jsonl", its port file "port" */
};
/* Makes the directory and fills in each path given (NULL ones are skipped). */
void harness_paths(const struct harness_paths *p);

/* --- simulator control sockets (modem-sim, smsc-sim) ------------------------ */

/* Sends `cmd` plus a newline on a fresh connection to `socket_path`; returns the
 * answer line without its newline, or NULL if no whole line came within 10 s. */
const char *harness_ctl_reply(const char *socket_path, const char *cmd);
/* The same, asserting the answer starts with "ok". */
const char *harness_ctl(const char *socket_path, const char *cmd);
/* A connection to the control socket (asserted), for tests that keep one open. */
int harness_ctl_connect(const char *socket_path);

/* --- the database, opened per call as another process would ----------------- */

/* Runs `statements` (one or more, ';'-separated) read-write; asserts they succeed. */
void harness_sql(const char *db, const char *statements);
/* First column of the first row as text ("" when no row or NULL); ?1, when the
 * statement has it, is bound to `arg` as text. */
const char *harness_query_text(const char *db, const char *sql, const char *arg);
/* The same with ?1 bound to an integer (a message id, usually). */
const char *harness_query_id(const char *db, const char *sql, int64_t arg);
/* First column of the first row as an integer; -1 when no row or NULL. */
long long harness_query_int(const char *db, const char *sql);

/* Polls harness_query_text every 100 ms until it returns `want` (true) or
 * `timeout_ms` passes (false, after printing what it saw on stderr). */
bool harness_wait_for_query_text(const char *db, const char *sql, const char *arg,
                                 const char *want, int timeout_ms);
/* The same for harness_query_id. */
bool harness_wait_for_query_id(const char *db, const char *sql, int64_t arg, const char *want,
                               int timeout_ms);
/* The same for harness_query_int: until it equals `want`. */
bool harness_wait_for_query_int(const char *db, const char *sql, long long want,
                                int timeout_ms);

/* --- processes --------------------------------------------------------------- */

/* SIGTERM to *pid when it is running, waits up to `timeout_ms`, clears *pid;
 * returns its exit status (-1 if killed or timed out), 0 when none ran. */
int harness_stop(pid_t *pid, int timeout_ms);

/* Starts modem-sim with `modems` modems named m1..mN at dir/m1..dir/mN, the
 * control socket and submit log given, its output appended to `out_path`, and
 * `extra` arguments (NULL-ended, or NULL); returns once it says it is ready. */
pid_t harness_start_modem_sim(const char *dir, int modems, const char *ctl_path,
                              const char *log_path, const char *out_path,
                              const char *const extra[]);
/* Starts smsc-sim on 127.0.0.1:0 writing `port_file`, with the control socket
 * and submit log when not NULL, `extra` arguments (NULL-ended, or NULL), its
 * output in `out_path`; waits until it listens and returns its port in *port. */
pid_t harness_start_smsc_sim(const char *port_file, const char *ctl_path, const char *log_path,
                             const char *out_path, const char *const extra[], int *port);

/* `homing send -c conf TO TEXT [--route ROUTE]`, which must exit 0; the new id. */
int64_t harness_send(const char *conf_path, const char *to, const char *text,
                     const char *route);

/* --- logs ---------------------------------------------------------------------- */

/* The port of "http listening on ... port=N" in the log; asserts it is there. */
int harness_http_port(const char *log_path);
/* Every line of a JSON-lines file as a JSON array (empty if there is no file);
 * asserts each line parses. */
json_t *harness_jsonl(const char *path);

/* --- HTTP on loopback ---------------------------------------------------------- */

/* One HTTP/1.1 exchange with 127.0.0.1:port on a fresh connection: a bearer
 * `token` and a Content-Type `type` when not NULL, `payload` (or none) as the
 * body. Returns the status; the response body in *body (malloc'd). */
int harness_http(int port, const char *method, const char *path, const char *token,
                 const char *type, const char *payload, char **body);

#endif
