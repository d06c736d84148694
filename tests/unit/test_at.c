/*
 * The AT engine, byte by byte: framing, final results as whole lines, URCs in
 * the middle of a response, the AT+CMGS prompt, timeouts with their guard,
 * resets, and input arriving in any chunking.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modem/at.h"
#include "tests/testutil.h"

/* What the engine did, recorded by the callbacks. */
static char written[4096];
static size_t written_len;
static char urcs[4096];
static char noise[2048];
static int done_calls;
static struct {
    enum at_status status;
    enum at_final final;
    int code;
    bool pdu_written;
    char lines[1024];
    size_t n_lines;
} last;

static void on_write(const char *data, size_t len, void *arg)
{
    (void)arg;
    ck_assert_uint_lt(written_len + len, sizeof written);
    memcpy(written + written_len, data, len);
    written_len += len;
    written[written_len] = '\0';
}

static void on_urc(const struct at_urc_event *ev, void *arg)
{
    (void)arg;
    char one[600];
    snprintf(one, sizeof one, "%d|%s|%s;", ev->kind, ev->line, ev->pdu ? ev->pdu : "-");
    strncat(urcs, one, sizeof urcs - strlen(urcs) - 1);
}

static void on_noise(const char *line, void *arg)
{
    (void)arg;
    strncat(noise, line, sizeof noise - strlen(noise) - 2);
    strcat(noise, ";");
}

static void on_done(const struct at_response *res, void *arg)
{
    (void)arg;
    done_calls++;
    last.status = res->status;
    last.final = res->final;
    last.code = res->code;
    last.pdu_written = res->pdu_written;
    last.n_lines = res->n_lines;
    last.lines[0] = '\0';
    for (size_t i = 0; i < res->n_lines; i++) {
        strncat(last.lines, res->lines[i], sizeof last.lines - strlen(last.lines) - 2);
        strcat(last.lines, ";");
    }
}

static struct at_engine *engine(void)
{
    written_len = 0;
    written[0] = urcs[0] = noise[0] = '\0';
    done_calls = 0;
    memset(&last, 0, sizeof last);
    struct at_io io = { .write = on_write, .urc = on_urc, .noise = on_noise };
    return at_new(&io);
}

static void submit(struct at_engine *e, const char *cmd, const char *expect, const char *pdu)
{
    struct at_request r = { .command = cmd, .expect = expect, .pdu = pdu, .timeout_ms = 1000,
                            .done = on_done };
    at_submit(e, &r, 0);
}

static void feed(struct at_engine *e, const char *text)
{
    at_input(e, text, strlen(text), 10);
}

START_TEST(framing)
{
    const char *line;
    size_t n;
    ck_assert_int_eq(at_next_line("\r\nOK\r\n", 6, &line, &n), 5);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(memcmp(line, "OK", 2), 0);
    ck_assert_int_eq(at_next_line("OK", 2, &line, &n), -2);
    ck_assert_int_eq(at_next_line("\r\n\r\n", 4, &line, &n), -2);
    ck_assert_int_eq(at_next_line("+CSQ: 1\n", 8, &line, &n), 8);
    ck_assert_int_eq(at_next_line("\r\n> ", 4, &line, &n), 4);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(line[0], '>');
    ck_assert_int_eq(at_next_line(">", 1, &line, &n), 1);
    static char longline[AT_LINE_MAX + 10];
    memset(longline, 'A', sizeof longline);
    ck_assert_int_eq(at_next_line(longline, sizeof longline, &line, &n), -1);
}
END_TEST

START_TEST(final_results_are_whole_lines)
{
    int code;
    ck_assert_int_eq(at_final_result("OK", 2, &code), AT_FINAL_OK);
    ck_assert_int_eq(at_final_result("OK ", 3, &code), AT_FINAL_NONE);
    ck_assert_int_eq(at_final_result("BOOK", 4, &code), AT_FINAL_NONE);
    ck_assert_int_eq(at_final_result("ERROR", 5, &code), AT_FINAL_ERROR);
    ck_assert_int_eq(at_final_result("+CMS ERROR: 304", 15, &code), AT_FINAL_CMS);
    ck_assert_int_eq(code, 304);
    ck_assert_int_eq(at_final_result("+CME ERROR: 10", 14, &code), AT_FINAL_CME);
    ck_assert_int_eq(code, 10);
    ck_assert_int_eq(at_final_result("+CME ERROR: SIM not inserted", 28, &code), AT_FINAL_CME);
    ck_assert_int_eq(code, -1);
    ck_assert_int_eq(at_urc_kind("+CMTI: \"SM\",3", 13), AT_URC_CMTI);
}
END_TEST

START_TEST(command_with_echo_and_response)
{
    struct at_engine *e = engine();
    submit(e, "AT+CSQ", "+CSQ:", NULL);
    ck_assert_str_eq(written, "AT+CSQ\r");
    feed(e, "AT+CSQ\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n");
    ck_assert_int_eq(done_calls, 1);
    ck_assert_int_eq(last.status, AT_OK);
    ck_assert_str_eq(last.lines, "+CSQ: 20,99;");
    ck_assert_int_eq(at_pending(e), 0);
    at_free(e);
}
END_TEST

START_TEST(urc_between_echo_and_ok)
{
    struct at_engine *e = engine();
    submit(e, "AT+CSQ", "+CSQ:", NULL);
    feed(e, "AT+CSQ\r\r\n+CMTI: \"SM\",3\r\n^RSSI: 17\r\n+CSQ: 20,99\r\nRING\r\nOK\r\n");
    ck_assert_str_eq(last.lines, "+CSQ: 20,99;");
    ck_assert_str_eq(urcs, "1|+CMTI: \"SM\",3|-;");
    ck_assert_str_eq(noise, "^RSSI: 17;RING;");
    at_free(e);
}
END_TEST

START_TEST(cmt_pdu_line_belongs_to_the_urc)
{
    struct at_engine *e = engine();
    submit(e, "AT+CGSN", NULL, NULL);
    feed(e, "\r\n+CMT: ,24\r\n07911326040000F0040B91\r\n356938035643809\r\n\r\nOK\r\n");
    ck_assert_str_eq(urcs, "2|+CMT: ,24|07911326040000F0040B91;");
    ck_assert_str_eq(last.lines, "356938035643809;");
    feed(e, "\r\n+CDS: 25\r\n0006D60B91\r\n");
    ck_assert_ptr_nonnull(strstr(urcs, "3|+CDS: 25|0006D60B91;"));
    at_free(e);
}
END_TEST

START_TEST(ok_inside_a_text_does_not_end_the_command)
{
    struct at_engine *e = engine();
    submit(e, "AT+COPS?", "+COPS:", NULL);
    feed(e, "\r\n+COPS: 0,0,\"OK Mobile\"\r\n");
    ck_assert_int_eq(done_calls, 0);
    feed(e, "\r\nOK\r\n");
    ck_assert_int_eq(done_calls, 1);
    ck_assert_str_eq(last.lines, "+COPS: 0,0,\"OK Mobile\";");
    at_free(e);
}
END_TEST

START_TEST(cmgs_prompt_gets_the_pdu)
{
    struct at_engine *e = engine();
    submit(e, "AT+CMGS=18", "+CMGS:", "0021000C91538317325476000005C834685306");
    ck_assert_str_eq(written, "AT+CMGS=18\r");
    feed(e, "\r\n> ");
    ck_assert_str_eq(written, "AT+CMGS=18\r0021000C91538317325476000005C834685306\x1a");
    feed(e, "\r\n+CMGS: 7\r\n\r\nOK\r\n");
    ck_assert_int_eq(last.status, AT_OK);
    ck_assert_str_eq(last.lines, "+CMGS: 7;");
    at_free(e);
}
END_TEST

/*
 * A send has two deadlines: the prompt, which a live modem gives at once, and
 * the network's answer after the PDU. Only a send whose PDU went out may have
 * reached the network, and the response says which it was.
 */
static void submit_send(struct at_engine *e, int prompt_ms, int answer_ms, int64_t now)
{
    struct at_request r = { .command = "AT+CMGS=18", .expect = "+CMGS:", .pdu = "00AA",
                            .timeout_ms = answer_ms, .prompt_timeout_ms = prompt_ms,
                            .done = on_done };
    at_submit(e, &r, now);
}

START_TEST(cmgs_prompt_has_its_own_deadline)
{
    struct at_engine *e = engine();
    submit_send(e, 5000, 60000, 0);
    ck_assert_int_eq(at_deadline(e), 5000);
    at_tick(e, 5000);
    ck_assert_int_eq(done_calls, 1);
    ck_assert_int_eq(last.status, AT_TIMEOUT);
    ck_assert(!last.pdu_written);
    ck_assert_str_eq(written, "AT+CMGS=18\r\x1b");
    at_free(e);

    /* Once the prompt came, the answer may take the send's whole timeout. */
    e = engine();
    submit_send(e, 5000, 60000, 0);
    at_input(e, "\r\n> ", 4, 200);
    ck_assert_int_eq(at_deadline(e), 60200);
    at_tick(e, 59000);
    ck_assert_int_eq(done_calls, 0);
    at_tick(e, 60200);
    ck_assert_int_eq(last.status, AT_TIMEOUT);
    ck_assert(last.pdu_written);
    ck_assert_str_eq(written, "AT+CMGS=18\r00AA\x1a"); /* no ESC: the prompt was answered */
    at_free(e);
}
END_TEST

START_TEST(reset_says_whether_the_pdu_went_out)
{
    struct at_engine *e = engine();
    submit_send(e, 1000, 1000, 0);
    at_input(e, "> ", 2, 10);
    at_reset(e, AT_GONE);
    ck_assert_int_eq(done_calls, 1);
    ck_assert_int_eq(last.status, AT_GONE);
    ck_assert(last.pdu_written); /* unplugged after the PDU: it may have gone */
    at_free(e);
    e = engine();
    submit_send(e, 1000, 1000, 0);
    at_reset(e, AT_GONE);
    ck_assert_int_eq(last.status, AT_GONE);
    ck_assert(!last.pdu_written);
    at_free(e);
}
END_TEST

START_TEST(cms_error_carries_its_code)
{
    struct at_engine *e = engine();
    submit(e, "AT+CMGS=18", "+CMGS:", "00");
    feed(e, "> ");
    feed(e, "\r\n+CMS ERROR: 38\r\n");
    ck_assert_int_eq(last.status, AT_ERROR);
    ck_assert_int_eq(last.final, AT_FINAL_CMS);
    ck_assert_int_eq(last.code, 38);
    at_free(e);
}
END_TEST

START_TEST(commands_queue_in_order)
{
    struct at_engine *e = engine();
    submit(e, "ATE0", NULL, NULL);
    submit(e, "AT+CMEE=1", NULL, NULL);
    ck_assert_str_eq(written, "ATE0\r");
    ck_assert_int_eq(at_pending(e), 2);
    feed(e, "ATE0\r\r\nOK\r\n");
    ck_assert_str_eq(written, "ATE0\rAT+CMEE=1\r");
    feed(e, "\r\nOK\r\n");
    ck_assert_int_eq(done_calls, 2);
    ck_assert_int_eq(at_pending(e), 0);
    at_free(e);
}
END_TEST

START_TEST(timeout_escapes_the_prompt_and_guards_the_next_command)
{
    struct at_engine *e = engine();
    submit(e, "AT+CMGS=18", "+CMGS:", "00AA");
    submit(e, "AT", NULL, NULL);
    ck_assert_int_eq(at_deadline(e), 1000);
    at_tick(e, 999);
    ck_assert_int_eq(done_calls, 0);
    at_tick(e, 1000);
    ck_assert_int_eq(done_calls, 1);
    ck_assert_int_eq(last.status, AT_TIMEOUT);
    ck_assert_str_eq(written, "AT+CMGS=18\r\x1b");
    /* The next command waits out the guard; a late OK meanwhile is only noise. */
    ck_assert_int_gt(at_deadline(e), 1000);
    at_input(e, "\r\nOK\r\n", 6, 1100);
    ck_assert_int_eq(done_calls, 1);
    ck_assert_str_eq(noise, "OK;");
    at_tick(e, at_deadline(e));
    ck_assert_str_eq(written, "AT+CMGS=18\r\x1b" "AT\r");
    feed(e, "\r\nOK\r\n");
    ck_assert_int_eq(done_calls, 2);
    ck_assert_int_eq(last.status, AT_OK);
    at_free(e);
}
END_TEST

START_TEST(reset_ends_everything_with_gone)
{
    struct at_engine *e = engine();
    submit(e, "AT", NULL, NULL);
    submit(e, "AT+CSQ", NULL, NULL);
    at_reset(e, AT_GONE);
    ck_assert_int_eq(done_calls, 2);
    ck_assert_int_eq(last.status, AT_GONE);
    ck_assert_int_eq(at_pending(e), 0);
    at_free(e);
}
END_TEST

static struct at_engine *reentrant_engine;

/* Submits from inside the callback, then still reads its own lines (as the SIM sweep does). */
static void submit_again(const struct at_response *res, void *arg)
{
    (void)arg;
    done_calls++;
    struct at_request r = { .command = "AT+CIMI", .timeout_ms = 100, .done = on_done };
    at_submit(reentrant_engine, &r, 0);
    for (size_t i = 0; i < res->n_lines; i++)
        ck_assert_str_eq(res->lines[i], i == 0 ? "+CMGL: 1,0,,23" : "0011AA");
}

START_TEST(callback_may_submit)
{
    struct at_engine *e = engine();
    reentrant_engine = e;
    struct at_request r = { .command = "AT+CMGL=4", .expect = "+CMGL:", .timeout_ms = 100,
                            .done = submit_again };
    at_submit(e, &r, 0);
    feed(e, "+CMGL: 1,0,,23\r\n0011AA\r\nOK\r\n");
    ck_assert_str_eq(written, "AT+CMGL=4\rAT+CIMI\r");
    feed(e, "272211234567890\r\nOK\r\n");
    ck_assert_int_eq(done_calls, 2);
    ck_assert_str_eq(last.lines, "272211234567890;");
    at_free(e);
}
END_TEST

START_TEST(any_chunking_gives_the_same_result)
{
    const char *script = "AT+CSQ\r\r\n+CMTI: \"SM\",1\r\n+CSQ: 9,99\r\n+CMT: ,3\r\n0011AA\r\nOK\r\n";
    for (size_t chunk = 1; chunk <= strlen(script); chunk++) {
        struct at_engine *e = engine();
        submit(e, "AT+CSQ", "+CSQ:", NULL);
        for (size_t i = 0; i < strlen(script); i += chunk) {
            size_t n = strlen(script) - i < chunk ? strlen(script) - i : chunk;
            at_input(e, script + i, n, 5);
        }
        ck_assert_int_eq(done_calls, 1);
        ck_assert_str_eq(last.lines, "+CSQ: 9,99;");
        ck_assert_str_eq(urcs, "1|+CMTI: \"SM\",1|-;2|+CMT: ,3|0011AA;");
        at_free(e);
    }
}
END_TEST

START_TEST(over_long_line_is_dropped_and_parsing_goes_on)
{
    struct at_engine *e = engine();
    submit(e, "AT", NULL, NULL);
    static char junk[3 * AT_LINE_MAX];
    memset(junk, 'Z', sizeof junk);
    at_input(e, junk, sizeof junk, 5);
    feed(e, "\r\nOK\r\n");
    ck_assert_int_eq(done_calls, 1);
    ck_assert_int_eq(last.status, AT_OK);
    ck_assert_ptr_nonnull(strstr(noise, "dropped"));
    at_free(e);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("at");
    TCase *t = tcase_create("engine");
    tcase_add_test(t, framing);
    tcase_add_test(t, final_results_are_whole_lines);
    tcase_add_test(t, command_with_echo_and_response);
    tcase_add_test(t, urc_between_echo_and_ok);
    tcase_add_test(t, cmt_pdu_line_belongs_to_the_urc);
    tcase_add_test(t, ok_inside_a_text_does_not_end_the_command);
    tcase_add_test(t, cmgs_prompt_gets_the_pdu);
    tcase_add_test(t, cmgs_prompt_has_its_own_deadline);
    tcase_add_test(t, reset_says_whether_the_pdu_went_out);
    tcase_add_test(t, cms_error_carries_its_code);
    tcase_add_test(t, commands_queue_in_order);
    tcase_add_test(t, timeout_escapes_the_prompt_and_guards_the_next_command);
    tcase_add_test(t, reset_ends_everything_with_gone);
    tcase_add_test(t, callback_may_submit);
    tcase_add_test(t, any_chunking_gives_the_same_result);
    tcase_add_test(t, over_long_line_is_dropped_and_parsing_goes_on);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
