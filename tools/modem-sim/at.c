/*
 * at: the AT command interpreter of a simulated modem (3GPP TS 27.007 and
 * 27.005, PDU mode only).
 *
 * Input is consumed from modem->in one command line (ended by CR) at a time,
 * or, after the "> " prompt of AT+CMGS, one PDU (ended by Ctrl-Z, cancelled
 * by ESC). A line may chain commands ("ATE0+CMEE=1;+CMGF=0"); each command
 * is a row in a table saying whether it needs an unlocked SIM and whether its
 * errors are +CMS (SMS) or +CME (equipment) errors. Handlers put information
 * lines into a response buffer and return a result; the final result code is
 * formatted in one place so AT+CMEE applies the same way everywhere.
 *
 * While a send waits out its latency the interpreter is busy: bytes keep
 * queueing in modem->in and are read once the final result is out, as a real
 * modem's UART buffer would.
 */
#include "tools/modem-sim/modem_priv.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/event.h>

/* Handler results: OK, plain ERROR, the prompt, or a positive CME/CMS code. */
enum { AT_OK = 0, AT_ERROR = -1, AT_PROMPT = -2 };

/* CME codes (27.007 9.2) and CMS codes (27.005 3.2.5) the simulator gives. */
enum {
    CME_NOT_ALLOWED = 3, CME_NOT_SUPPORTED = 4, CME_SIM_PIN = 11, CME_SIM_PUK = 12,
    CME_SIM_FAILURE = 13, CME_BAD_PASSWORD = 16,
    CMS_NOT_ALLOWED = 302, CMS_NOT_SUPPORTED = 303, CMS_BAD_PDU = 304, CMS_SIM_PIN = 311,
    CMS_SIM_PUK = 316, CMS_BAD_INDEX = 321, CMS_NO_SERVICE = 331, CMS_NO_CNMA = 340,
};

#define AT_MAX_ARGS 8

struct at_cmd {
    char type;                  /* 'x' execute, 'r' read (?), 't' test (=?), 's' set (=) */
    int argc;
    char *argv[AT_MAX_ARGS];
    struct evbuffer *resp;      /* information lines */
};

struct at_entry {
    const char *name;
    int (*fn)(struct modem *, struct at_cmd *);
    bool needs_sim;
    bool sms;
};

static const struct { int code; const char *text; } error_texts[] = {
    {3, "operation not allowed"}, {4, "operation not supported"}, {10, "SIM not inserted"},
    {11, "SIM PIN required"}, {12, "SIM PUK required"}, {13, "SIM failure"},
    {16, "incorrect password"}, {30, "no network service"}, {100, "unknown"},
    {300, "ME failure"}, {301, "SMS service of ME reserved"}, {302, "operation not allowed"},
    {303, "operation not supported"}, {304, "invalid PDU mode parameter"},
    {305, "invalid text mode parameter"}, {310, "SIM not inserted"}, {311, "SIM PIN required"},
    {316, "SIM PUK required"}, {321, "invalid memory index"}, {322, "memory full"},
    {330, "SMSC address unknown"}, {331, "no network service"}, {332, "network timeout"},
    {340, "no +CNMA acknowledgement expected"}, {500, "unknown error"},
};

static const char *error_text(int code)
{
    for (size_t k = 0; k < sizeof error_texts / sizeof error_texts[0]; k++)
        if (error_texts[k].code == code)
            return error_texts[k].text;
    return "unknown error";
}

static void info(struct at_cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void info(struct at_cmd *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    evbuffer_add_printf(c->resp, "\r\n");
    evbuffer_add_vprintf(c->resp, fmt, ap);
    evbuffer_add_printf(c->resp, "\r\n");
    va_end(ap);
}

/* Formats a final error as AT+CMEE asks: ERROR, a number, or words. */
static void final_error(struct modem *m, struct evbuffer *b, bool sms, int code)
{
    if (code == AT_ERROR || m->set.cmee == 0)
        evbuffer_add_printf(b, "\r\nERROR\r\n");
    else if (m->set.cmee == 1)
        evbuffer_add_printf(b, "\r\n+%s ERROR: %d\r\n", sms ? "CMS" : "CME", code);
    else
        evbuffer_add_printf(b, "\r\n+%s ERROR: %s\r\n", sms ? "CMS" : "CME", error_text(code));
}

static bool arg_int(const struct at_cmd *c, int k, int lo, int hi, int *out)
{
    if (k >= c->argc || c->argv[k][0] == '\0')
        return false;
    char *end;
    long v = strtol(c->argv[k], &end, 10);
    if (*end != '\0' || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

/* ---- basic and identity commands ------------------------------------------ */

static int h_ok(struct modem *m, struct at_cmd *c)
{
    (void)m;
    (void)c;
    return AT_OK;
}

static int h_cmee(struct modem *m, struct at_cmd *c)
{
    if (c->type == 'r')
        info(c, "+CMEE: %d", m->set.cmee);
    else if (c->type == 't')
        info(c, "+CMEE: (0-2)");
    else if (c->type != 's' || !arg_int(c, 0, 0, 2, &m->set.cmee))
        return AT_ERROR;
    return AT_OK;
}

static int h_cmgf(struct modem *m, struct at_cmd *c)
{
    int v;
    (void)m;
    if (c->type == 'r')
        info(c, "+CMGF: 0");
    else if (c->type == 't')
        info(c, "+CMGF: (0)");
    else if (c->type != 's' || !arg_int(c, 0, 0, 1, &v))
        return AT_ERROR;
    else if (v == 1)
        return CME_NOT_SUPPORTED;   /* text mode refused: homing speaks PDU */
    return AT_OK;
}

static int h_cgmi(struct modem *m, struct at_cmd *c)
{
    (void)m;
    if (c->type == 'x')
        info(c, "homing");
    return c->type == 'x' || c->type == 't' ? AT_OK : AT_ERROR;
}

static int h_cgmm(struct modem *m, struct at_cmd *c)
{
    (void)m;
    if (c->type == 'x')
        info(c, "modem-sim");
    return c->type == 'x' || c->type == 't' ? AT_OK : AT_ERROR;
}

static int h_cgmr(struct modem *m, struct at_cmd *c)
{
    (void)m;
    if (c->type == 'x')
        info(c, "modem-sim 0.1.0");
    return c->type == 'x' || c->type == 't' ? AT_OK : AT_ERROR;
}

static int h_cgsn(struct modem *m, struct at_cmd *c)
{
    if (c->type == 'x')
        info(c, "35000000000%04d", m->index);
    return c->type == 'x' || c->type == 't' ? AT_OK : AT_ERROR;
}

static int h_cimi(struct modem *m, struct at_cmd *c)
{
    if (c->type == 'x')
        info(c, "27201000000%04d", m->index);
    return c->type == 'x' || c->type == 't' ? AT_OK : AT_ERROR;
}

static int h_csca(struct modem *m, struct at_cmd *c)
{
    if (c->type == 'r') {
        info(c, "+CSCA: \"%s\",%d", m->csca, m->csca[0] == '+' ? 145 : 129);
        return AT_OK;
    }
    if (c->type == 't')
        return AT_OK;
    if (c->type != 's' || c->argc < 1 || c->argv[0][0] == '\0')
        return AT_ERROR;
    snprintf(m->csca, sizeof m->csca, "%s", c->argv[0]);
    return AT_OK;
}

static int h_cscs(struct modem *m, struct at_cmd *c)
{
    (void)m;
    if (c->type == 'r')
        info(c, "+CSCS: \"GSM\"");
    else if (c->type == 't')
        info(c, "+CSCS: (\"GSM\",\"IRA\",\"UCS2\")");
    return c->type == 's' && c->argc < 1 ? AT_ERROR : AT_OK;
}

/* ---- SIM, radio and network ----------------------------------------------- */

static int h_cfun(struct modem *m, struct at_cmd *c)
{
    int v, old = modem_creg_stat(m);
    if (c->type == 'r') {
        info(c, "+CFUN: %d", m->set.cfun);
        return AT_OK;
    }
    if (c->type == 't') {
        info(c, "+CFUN: (0,1,4),(0,1)");
        return AT_OK;
    }
    if (c->type != 's' || !arg_int(c, 0, 0, 4, &v) || (v != 0 && v != 1 && v != 4))
        return AT_ERROR;
    m->set.cfun = v;
    modem_net_changed(m, old);
    return AT_OK;
}

static int cpin_enter(struct modem *m, struct at_cmd *c)
{
    if (m->pin_state == MODEM_PIN_READY)
        return CME_NOT_ALLOWED;
    if (m->pin_state == MODEM_PIN_SIM_PIN) {
        if (strcmp(c->argv[0], m->pin) == 0) {
            m->pin_state = MODEM_PIN_READY;
            m->pin_tries = 3;
            return AT_OK;
        }
        if (--m->pin_tries <= 0)
            m->pin_state = MODEM_PIN_SIM_PUK;
        return CME_BAD_PASSWORD;
    }
    if (m->puk_tries <= 0)
        return CME_SIM_FAILURE;
    if (c->argc < 2 || strcmp(c->argv[0], m->puk) != 0) {
        m->puk_tries--;
        return CME_BAD_PASSWORD;
    }
    snprintf(m->pin, sizeof m->pin, "%s", c->argv[1]);
    m->pin_state = MODEM_PIN_READY;
    m->pin_tries = 3;
    m->puk_tries = 10;
    return AT_OK;
}

static int h_cpin(struct modem *m, struct at_cmd *c)
{
    static const char *states[] = {"READY", "SIM PIN", "SIM PUK"};
    if (c->type == 'r') {
        info(c, "+CPIN: %s", states[m->pin_state]);
        return AT_OK;
    }
    if (c->type == 't')
        return AT_OK;
    if (c->type != 's' || c->argc < 1 || c->argv[0][0] == '\0')
        return AT_ERROR;
    int old = modem_creg_stat(m);
    int r = cpin_enter(m, c);
    modem_net_changed(m, old);
    return r;
}

static int h_csq(struct modem *m, struct at_cmd *c)
{
    if (c->type == 't') {
        info(c, "+CSQ: (0-31,99),(0-7,99)");
        return AT_OK;
    }
    if (c->type != 'x')
        return AT_ERROR;
    info(c, "+CSQ: %d,99", m->set.cfun == 1 ? m->csq : 99);
    return AT_OK;
}

static int h_creg(struct modem *m, struct at_cmd *c)
{
    int stat = modem_creg_stat(m);
    if (c->type == 'r') {
        if (m->set.creg_n == 2 && (stat == 1 || stat == 5))
            info(c, "+CREG: 2,%d,\"00A1\",\"%04X\"", stat, 0x1000 + m->index);
        else
            info(c, "+CREG: %d,%d", m->set.creg_n, stat);
        return AT_OK;
    }
    if (c->type == 't') {
        info(c, "+CREG: (0-2)");
        return AT_OK;
    }
    return c->type == 's' && arg_int(c, 0, 0, 2, &m->set.creg_n) ? AT_OK : AT_ERROR;
}

static int h_cops(struct modem *m, struct at_cmd *c)
{
    int stat = modem_creg_stat(m);
    if (c->type == 'r') {
        if (stat == 1 || stat == 5)
            info(c, "+COPS: 0,0,\"%s\",0", m->op);
        else
            info(c, "+COPS: 0");
    } else if (c->type == 't') {
        info(c, "+COPS: (2,\"%s\",\"HomingSim\",\"27299\",0),,(0-4),(0-2)", m->op);
    }
    return AT_OK;
}

/* ---- message storage --------------------------------------------------------- */

static int used_slots(const struct modem *m)
{
    int n = 0;
    for (int k = 0; k < m->nslots; k++)
        n += m->slots[k].used;
    return n;
}

static bool valid_mem(const char *s)
{
    return strcmp(s, "SM") == 0 || strcmp(s, "ME") == 0 || strcmp(s, "MT") == 0;
}

static int h_cpms(struct modem *m, struct at_cmd *c)
{
    int used = used_slots(m), total = m->nslots;
    if (c->type == 'r') {
        info(c, "+CPMS: \"%s\",%d,%d,\"%s\",%d,%d,\"%s\",%d,%d", m->set.cpms[0], used, total,
             m->set.cpms[1], used, total, m->set.cpms[2], used, total);
        return AT_OK;
    }
    if (c->type == 't') {
        info(c, "+CPMS: (\"SM\",\"ME\",\"MT\"),(\"SM\",\"ME\",\"MT\"),(\"SM\",\"ME\",\"MT\")");
        return AT_OK;
    }
    if (c->type != 's' || c->argc < 1 || c->argc > 3)
        return AT_ERROR;
    for (int k = 0; k < c->argc; k++)
        if (!valid_mem(c->argv[k]))
            return CMS_NOT_SUPPORTED;
    for (int k = 0; k < c->argc; k++)
        snprintf(m->set.cpms[k], sizeof m->set.cpms[k], "%s", c->argv[k]);
    info(c, "+CPMS: %d,%d,%d,%d,%d,%d", used, total, used, total, used, total);
    return AT_OK;
}

static int h_cnmi(struct modem *m, struct at_cmd *c)
{
    static const int max[5] = {3, 3, 3, 2, 1};
    int *v = m->set.cnmi;
    if (c->type == 'r') {
        info(c, "+CNMI: %d,%d,%d,%d,%d", v[0], v[1], v[2], v[3], v[4]);
        return AT_OK;
    }
    if (c->type == 't') {
        info(c, "+CNMI: (0-3),(0-3),(0-3),(0-2),(0,1)");
        return AT_OK;
    }
    if (c->type != 's' || c->argc > 5)
        return AT_ERROR;
    int nv[5] = {0, 0, 0, 0, 0};
    for (int k = 0; k < c->argc; k++)
        if (c->argv[k][0] != '\0' && !arg_int(c, k, 0, max[k], &nv[k]))
            return CMS_NOT_SUPPORTED;
    memcpy(v, nv, sizeof nv);
    return AT_OK;
}

static int h_csms(struct modem *m, struct at_cmd *c)
{
    if (c->type == 'r')
        info(c, "+CSMS: %d,1,1,1", m->set.csms);
    else if (c->type == 't')
        info(c, "+CSMS: (0,1)");
    else if (c->type == 's' && arg_int(c, 0, 0, 1, &m->set.csms))
        info(c, "+CSMS: 1,1,1");
    else
        return AT_ERROR;
    return AT_OK;
}

static void list_slot(struct modem *m, struct at_cmd *c, int k, const char *verb)
{
    struct sim_slot *s = &m->slots[k];
    if (strcmp(verb, "CMGL") == 0)
        info(c, "+CMGL: %d,%d,,%d", k + 1, s->stat, s->len);
    else
        info(c, "+CMGR: %d,,%d", s->stat, s->len);
    /* The PDU follows its header on the next line, without a blank line between. */
    evbuffer_add_printf(c->resp, "%s\r\n", s->hex);
    s->stat = 1;
}

static int h_cmgl(struct modem *m, struct at_cmd *c)
{
    int stat = 0;
    if (c->type == 't') {
        info(c, "+CMGL: (0-4)");
        return AT_OK;
    }
    if (c->type == 's' && !arg_int(c, 0, 0, 4, &stat))
        return CMS_BAD_PDU;     /* "ALL" and friends are text mode */
    if (c->type == 'r')
        return AT_ERROR;
    for (int k = 0; k < m->nslots; k++) {
        struct sim_slot *s = &m->slots[k];
        if (s->used && (stat == 4 || s->stat == stat))
            list_slot(m, c, k, "CMGL");
    }
    return AT_OK;
}

static int h_cmgr(struct modem *m, struct at_cmd *c)
{
    int idx;
    if (c->type == 't')
        return AT_OK;
    if (c->type != 's' || !arg_int(c, 0, 0, 9999, &idx))
        return AT_ERROR;
    if (idx < 1 || idx > m->nslots || !m->slots[idx - 1].used)
        return CMS_BAD_INDEX;
    list_slot(m, c, idx - 1, "CMGR");
    return AT_OK;
}

/* AT+CMGD=<index>[,<delflag>]: delflag 1 read, 2 read+sent, 3 +unsent, 4 all (27.005 3.5.4). */
static int h_cmgd(struct modem *m, struct at_cmd *c)
{
    int idx, flag = 0;
    if (c->type == 't') {
        info(c, "+CMGD: (1-%d),(0-4)", m->nslots);
        return AT_OK;
    }
    if (c->type != 's' || !arg_int(c, 0, 0, 9999, &idx))
        return AT_ERROR;
    if (c->argc > 1 && !arg_int(c, 1, 0, 4, &flag))
        return CMS_NOT_SUPPORTED;
    if (flag == 0) {
        if (idx < 1 || idx > m->nslots)
            return CMS_BAD_INDEX;
        m->slots[idx - 1].used = false;
        return AT_OK;
    }
    for (int k = 0; k < m->nslots; k++)
        if (flag == 4 || m->slots[k].stat == 1)
            m->slots[k].used = false;
    return AT_OK;
}

static int h_cnma(struct modem *m, struct at_cmd *c)
{
    if (c->type == 't') {
        info(c, "+CNMA: (0-2)");
        return AT_OK;
    }
    if (m->cnma_pending <= 0)
        return CMS_NO_CNMA;
    m->cnma_pending--;
    return AT_OK;
}

static int h_cmgs(struct modem *m, struct at_cmd *c)
{
    int len;
    if (c->type == 't')
        return AT_OK;
    if (c->type != 's' || !arg_int(c, 0, 0, 999, &len))
        return AT_ERROR;
    if (len < 7 || len > 164)
        return CMS_BAD_PDU;
    m->cmgs_len = len;
    m->pdu_len = 0;
    m->pdu_overflow = false;
    m->input = MODEM_IN_PDU;
    if (m->hang_at == HANG_AT_CMGS) {
        m->hang_at = HANG_NEVER;
        m->hung = true; /* the prompt below is never written */
    }
    return AT_PROMPT;
}

/* ---- the command table and the line interpreter ----------------------------- */

static const struct at_entry at_table[] = {
    {"+CMEE", h_cmee, false, false}, {"+CMGF", h_cmgf, false, false},
    {"+CGMI", h_cgmi, false, false}, {"+GMI", h_cgmi, false, false},
    {"+CGMM", h_cgmm, false, false}, {"+GMM", h_cgmm, false, false},
    {"+CGMR", h_cgmr, false, false}, {"+GMR", h_cgmr, false, false},
    {"+CGSN", h_cgsn, false, false}, {"+GSN", h_cgsn, false, false},
    {"+CIMI", h_cimi, true, false},  {"+CSCA", h_csca, true, true},
    {"+CSCS", h_cscs, false, false}, {"+CFUN", h_cfun, false, false},
    {"+CPIN", h_cpin, false, false}, {"+CSQ", h_csq, false, false},
    {"+CREG", h_creg, false, false}, {"+COPS", h_cops, false, false},
    {"+CPMS", h_cpms, true, true},   {"+CNMI", h_cnmi, false, true},
    {"+CSMS", h_csms, false, true},  {"+CMGL", h_cmgl, true, true},
    {"+CMGR", h_cmgr, true, true},   {"+CMGD", h_cmgd, true, true},
    {"+CNMA", h_cnma, false, true},  {"+CMGS", h_cmgs, true, true},
    {"+CSDH", h_ok, false, true},    {"+CLIP", h_ok, false, false},
    {"+CMER", h_ok, false, false},   {"+CGREG", h_ok, false, false},
};

static const struct at_entry *at_find(const char *name)
{
    for (size_t k = 0; k < sizeof at_table / sizeof at_table[0]; k++)
        if (strcasecmp(at_table[k].name, name) == 0)
            return &at_table[k];
    return NULL;
}

/* Splits "a,\"b,c\",d" in place into argv, dropping the quotes. */
static void split_args(char *s, struct at_cmd *c)
{
    c->argc = 0;
    char *w = s;
    bool quoted = false;
    c->argv[c->argc++] = w;
    for (char *r = s; *r; r++) {
        if (*r == '"') {
            quoted = !quoted;
        } else if (*r == ',' && !quoted && c->argc < AT_MAX_ARGS) {
            *w++ = '\0';
            c->argv[c->argc++] = w;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

/* Runs one extended command "+NAME[?|=?|=args]"; returns its result. */
static int run_extended(struct modem *m, char *cmd, struct at_cmd *c, bool *sms)
{
    char *p = cmd + 1;
    while (isalnum((unsigned char)*p))
        p++;
    char name[16];
    snprintf(name, sizeof name, "%.*s", (int)(p - cmd), cmd);
    const struct at_entry *e = at_find(name);
    if (e == NULL)
        return AT_ERROR;
    *sms = e->sms;
    c->argc = 0;
    if (strcmp(p, "?") == 0)
        c->type = 'r';
    else if (strcmp(p, "=?") == 0)
        c->type = 't';
    else if (*p == '=')
        c->type = 's', split_args(p + 1, c);
    else if (*p == '\0')
        c->type = 'x';
    else
        return AT_ERROR;
    if (e->needs_sim && c->type != 't' && m->pin_state != MODEM_PIN_READY) {
        bool puk = m->pin_state == MODEM_PIN_SIM_PUK;
        return e->sms ? (puk ? CMS_SIM_PUK : CMS_SIM_PIN) : (puk ? CME_SIM_PUK : CME_SIM_PIN);
    }
    return e->fn(m, c);
}

/* ATSn=v and ATSn?: S-registers are accepted and read as 0; only their syntax is checked. */
static int run_sreg(char **pp, struct at_cmd *c)
{
    char *p = *pp;
    strtol(p, &p, 10);
    if (*p == '?') {
        info(c, "000");
        *pp = p + 1;
        return AT_OK;
    }
    if (*p != '=')
        return AT_ERROR;
    strtol(p + 1, pp, 10);
    return AT_OK;
}

/*
 * Runs one basic command at *pp, advancing past it: E, Z, V1, Q0, I, S, and
 * the serial-line ones a bring-up string carries (&F, &C, &D, &W, X, H, L, M),
 * which a pty has no use for and accepts.
 */
static int run_basic(struct modem *m, char **pp, struct at_cmd *c)
{
    char *p = *pp;
    char letter = (char)toupper((unsigned char)*p++);
    if (letter == '&') {
        char amp = (char)toupper((unsigned char)*p++);
        letter = amp == 'F' ? 'Z' : strchr("CDWK", amp) && amp ? 'H' : '?';
    }
    if (letter == 'S') {
        *pp = p;
        return run_sreg(pp, c);
    }
    long v = strtol(p, pp, 10);
    switch (letter) {
    case 'H': case 'X': case 'L': case 'M':
        return AT_OK;
    case 'E':
        if (v > 1)
            return AT_ERROR;
        m->set.echo = v == 1;
        return AT_OK;
    case 'Z':
        modem_reset_settings(m);
        return AT_OK;
    case 'V':
        return v == 1 ? AT_OK : AT_ERROR;   /* numeric result codes: not simulated */
    case 'Q':
        return v == 0 ? AT_OK : AT_ERROR;
    case 'I':
        info(c, "homing modem-sim 0.1.0");
        return AT_OK;
    default:
        return AT_ERROR;
    }
}

/* Runs the commands of one line after "AT"; stops at the first that fails. */
static int run_line(struct modem *m, char *body, struct at_cmd *c, bool *sms)
{
    int r = AT_OK;
    while (*body && r == AT_OK) {
        *sms = false;
        if (*body == '+' || *body == '^') {
            char *end = body;
            bool quoted = false;
            while (*end && (quoted || *end != ';'))
                quoted ^= *end++ == '"';
            char saved = *end;
            *end = '\0';
            r = run_extended(m, body, c, sms);
            body = saved ? end + 1 : end;
        } else if (*body == ';' || *body == ' ') {
            body++;
        } else {
            r = run_basic(m, &body, c);
        }
    }
    return r;
}

static void at_line(struct modem *m, char *line)
{
    if (m->set.echo) {
        modem_write(m, line, strlen(line));
        modem_write(m, "\r", 1);
    }
    modem_flush_held(m);
    while (*line == ' ')
        line++;
    if (strncasecmp(line, "AT", 2) != 0)
        return;   /* a real modem ignores what does not start with AT */
    m->n.commands++;
    struct at_cmd c = {.resp = evbuffer_new()};
    bool sms = false;
    m->in_command = true;
    int r = run_line(m, line + 2, &c, &sms);
    m->in_command = false;
    if (r == AT_PROMPT) {
        evbuffer_add_printf(c.resp, "\r\n> ");
    } else if (r == AT_OK) {
        evbuffer_add_printf(c.resp, "\r\nOK\r\n");
    } else {
        final_error(m, c.resp, sms, r);
    }
    size_t len = evbuffer_get_length(c.resp);
    modem_write(m, (const char *)evbuffer_pullup(c.resp, -1), len);
    evbuffer_free(c.resp);
    if (!m->defer_urcs && m->input == MODEM_IN_COMMAND)
        modem_flush_held(m);
}

static void finish_send(struct modem *m);

/* ---- the PDU after the prompt ------------------------------------------------ */

static void send_final(struct modem *m, const char *text)
{
    snprintf(m->pending, sizeof m->pending, "%s", text);
    if (m->latency_ms > 0) {
        struct timeval tv = {m->latency_ms / 1000, (m->latency_ms % 1000) * 1000};
        m->input = MODEM_IN_BUSY;
        event_add(m->ev_latency, &tv);
    } else {
        finish_send(m);
    }
}

static void send_error(struct modem *m, int code)
{
    struct evbuffer *b = evbuffer_new();
    final_error(m, b, true, code);
    char text[96];
    size_t n = evbuffer_remove(b, text, sizeof text - 1);
    text[n] = '\0';
    evbuffer_free(b);
    m->pending_ok = false;
    m->n.send_errors++;
    send_final(m, text);
}

/* Ctrl-Z: check the length against the PDU, decode it, answer after the latency. */
static void pdu_done(struct modem *m)
{
    uint8_t b[SIMPDU_MAX_OCTETS];
    int n = m->pdu_overflow ? -1 : simpdu_hex_decode(m->pdu, m->pdu_len, b, sizeof b);
    int smsc = n < 0 ? -1 : simpdu_smsc_octets(b, (size_t)n);
    char why[64];
    m->pdu[m->pdu_len] = '\0';
    if (smsc < 0 || n - smsc != m->cmgs_len
        || !simpdu_submit_decode(b, (size_t)n, &m->pending_submit, why, sizeof why)) {
        m->n.bad_pdus++;
        m->input = MODEM_IN_COMMAND;
        send_error(m, CMS_BAD_PDU);
        return;
    }
    int stat = modem_creg_stat(m);
    if (m->fail_count > 0) {
        m->fail_count--;
        send_error(m, m->fail_code);
    } else if (stat != 1 && stat != 5) {
        send_error(m, CMS_NO_SERVICE);
    } else {
        m->pending_ok = true;
        send_final(m, "");
    }
}

/* Writes the held-back final result of a send; never reads input (callers may be in at_process). */
static void finish_send(struct modem *m)
{
    m->input = MODEM_IN_COMMAND;
    if (m->pending_ok) {
        int mr = m->next_mr;
        m->next_mr = (m->next_mr + 1) % 256;
        snprintf(m->sent_to[mr], sizeof m->sent_to[mr], "%s", m->pending_submit.to);
        modem_log_submit(m, &m->pending_submit, mr);
        m->n.submits++;
        if (m->hang_at == HANG_AT_PDU) {
            m->hang_at = HANG_NEVER;
            m->hung = true; /* the SMS went out; its +CMGS below is lost */
        }
        snprintf(m->pending, sizeof m->pending, "\r\n+CMGS: %d\r\n\r\nOK\r\n", mr);
        m->pending_ok = false;
    }
    modem_write(m, m->pending, strlen(m->pending));
    if (!m->defer_urcs)
        modem_flush_held(m);
}

void at_latency_done(struct modem *m)
{
    finish_send(m);
    at_process(m);
}

/* Consumes PDU characters; returns bytes used. Echoes them like a terminal would. */
static size_t pdu_input(struct modem *m, const char *p, size_t len)
{
    for (size_t k = 0; k < len; k++) {
        char ch = p[k];
        if (ch == 0x1A || ch == 0x1B) {
            if (ch == 0x1B) {
                m->n.cancelled++;
                m->input = MODEM_IN_COMMAND;
                modem_write(m, "\r\nOK\r\n", 6);
                if (!m->defer_urcs)
                    modem_flush_held(m);
            } else {
                pdu_done(m);
            }
            return k + 1;
        }
        if (ch == '\r' || ch == '\n')
            continue;
        if (m->set.echo)
            modem_write(m, &ch, 1);
        if (m->pdu_len + 1 < sizeof m->pdu)
            m->pdu[m->pdu_len++] = ch;
        else
            m->pdu_overflow = true;
    }
    return len;
}

/* Takes one CR-ended line off the input; returns bytes used, 0 if none is complete. */
static size_t line_input(struct modem *m)
{
    char *cr = memchr(m->in, '\r', m->in_len);
    if (cr == NULL) {
        if (m->in_len >= MODEM_LINE_MAX)
            return m->in_len;   /* an endless line: dropped, like a modem's overflow */
        return 0;
    }
    size_t used = (size_t)(cr - m->in) + 1;
    char line[MODEM_LINE_MAX];
    size_t n = 0;
    for (size_t k = 0; k + 1 < used && n + 1 < sizeof line; k++)
        if (m->in[k] != '\n')
            line[n++] = m->in[k];
    line[n] = '\0';
    at_line(m, line);
    return used;
}

void at_process(struct modem *m)
{
    while (m->in_len > 0 && m->plugged && !m->hung && m->input != MODEM_IN_BUSY) {
        size_t used = m->input == MODEM_IN_PDU ? pdu_input(m, m->in, m->in_len)
                                               : line_input(m);
        if (used == 0)
            break;
        memmove(m->in, m->in + used, m->in_len - used);
        m->in_len -= used;
    }
}
