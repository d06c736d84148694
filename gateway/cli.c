/*
 * cli: the command table and everything commands share. `homing help` and
 * `homing COMMAND --help` are printed from the table, so a command's usage is
 * written once.
 */
#include "gateway/cli.h"

#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "config/conf.h"
#include "gateway/clock.h"
#include "gateway/commands.h"
#include "gateway/store.h"

struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
    const char *summary;
    const char *details;
};

static const struct cli_command commands[] = {
    { "run", cmd_run, "run [-c FILE] [--time-scale N] [--start-at ISO8601]",
      "run the gateway service in the foreground",
      "Loads the configuration, opens the database and runs until SIGTERM or SIGINT.\n"
      "SIGHUP reloads the configuration; an invalid new file is logged and the old one kept.\n"
      "  --time-scale N     run the service clock N times faster (demos and tests only)\n"
      "  --start-at TIME    with --time-scale: the instant the clock starts at\n" },
    { "config", cmd_config, "config check|reference [-c FILE]",
      "check a configuration file, or print the key reference",
      "  check        print \"ok\", or every error with its file and line (exit 2)\n"
      "  reference    print the table of every key (docs/configuration.md)\n" },
    { "send", cmd_send, "send TO TEXT [--from ID] [--route NAME] [--key KEY] [--json]",
      "queue one message and print its id",
      "TO is a phone number; national numbers take the country of defaults.country.\n"
      "The message is committed to the database before its id is printed.\n"
      "  --from ID       sender id (number or alphanumeric)\n"
      "  --route NAME    send through this modem or SMPP bind only\n"
      "  --key KEY       idempotency key: sending the same key again returns the first id\n" },
    { "messages", cmd_messages, "messages [--state S] [--to NUMBER] [--limit N] [--json]",
      "list messages, newest first",
      "  --state S      queued, sending, sent, delivered, undelivered, failed, expired,\n"
      "                 suppressed\n"
      "  --to NUMBER    only messages to this recipient\n"
      "  --limit N      at most N messages (default 100)\n" },
    { "status", cmd_status, "status [--json]",
      "modems, SMPP binds and queue depths, as the running service sees them",
      "Modems show signal, registration and operator; a service that has not written its\n"
      "status for 30 s is reported as not running.\n" },
    { "optout", cmd_optout, "optout list [--json|--csv] | add NUMBER [--keyword K] | remove NUMBER",
      "the suppression list: who said STOP, and changes by hand",
      "  list      every opt-out with its keyword, time and source\n"
      "  add       opt a number out by hand: queued messages to it are suppressed\n"
      "  remove    take a number off the list (as START would, without the reply)\n" },
    { "inbound", cmd_inbound, "inbound [--limit N] [--json]",
      "received messages, newest first, with the keyword each one matched", "" },
    { "report", cmd_report, "report [CAMPAIGN] [--json]",
      "campaign figures per step: enrolled, sent, delivered, replies, conversions, opt-outs",
      "Every campaign (configured ones first, then any only in the database), or CAMPAIGN.\n"
      "Steps are numbered from 0; rates are of the messages sent (README: Campaign reports).\n" },
    { "show", cmd_show, "show ID [--json]", "show one message with its parts and receipts", "" },
    { "contacts", cmd_contacts, "contacts import FILE.csv [--json] | contacts list [--limit N] [--json]",
      "import the people campaigns write to, or list them",
      "import reads a CSV file whose first line names the columns: phone (or msisdn),\n"
      "name, timezone (IANA, like Europe/Dublin), consent (yes/no, true/false, 1/0, or the\n"
      "date it was given) and consent_at; every other column is kept as an attribute that\n"
      "templates can use ({code}). Numbers are normalised with defaults.country. A bad row\n"
      "is reported as FILE:LINE: reason and skipped; the others are committed. Importing a\n"
      "contact again updates it (empty cells keep the old value). Exit status 1 when a row\n"
      "was skipped.\n"
      "  list --limit N   at most N contacts, in number order (default 100)\n" },
    { "enroll", cmd_enroll, "enroll CAMPAIGN MSISDN... | enroll CAMPAIGN --csv FILE [--json]",
      "start a campaign for recipients",
      "Prints one line per recipient: the enrollment id and when its first step is due,\n"
      "or 'refused:' and why: the campaign needs consent that is not recorded, the number\n"
      "opted out, is already enrolled, left this campaign less than reenroll_after ago,\n"
      "or a step's template needs a field the contact lacks. Exit status 1 when any was\n"
      "refused.\n"
      "  --csv FILE   a header row with phone (or msisdn); every other column becomes a\n"
      "               var of that enrollment, which templates can use ({code})\n" },
    { "convert", cmd_convert, "convert MSISDN [--value AMOUNT] [--json]",
      "record a conversion (a purchase, a return)",
      "The conversion is credited to the last campaign step sent to the number within\n"
      "that campaign's attribution_window, and ends the number's enrollments in campaigns\n"
      "whose exit_on has \"conversion\". Prints what was credited and ended.\n"
      "  --value AMOUNT   what the conversion was worth, for reports\n" },
    { "campaign", cmd_campaign, "campaign preview CAMPAIGN MSISDN [--json]",
      "show a campaign's messages as one contact would get them",
      "For each step (and each A/B variant): the text rendered with the contact's fields,\n"
      "its encoding and segment count, and when it would go if enrolled now (before quiet\n"
      "hours and frequency caps), or why it cannot be rendered.\n" },
    { "segments", cmd_segments, "segments TEXT [--smart] [--max-segments N] [--json]",
      "show how a text is encoded and split into SMS segments",
      "Prints the encoding (gsm7 or ucs2), the number of segments and the text of each.\n"
      "  --smart            replace look-alike characters to stay in GSM 7-bit\n"
      "  --max-segments N   refuse texts longer than N segments (default 10)\n" },
    { "pdu", cmd_pdu, "pdu encode --to NUMBER [--srr] [--ucs2] TEXT | pdu decode HEX [--json]",
      "encode an SMS-SUBMIT as AT+CMGS takes it, or decode a PDU",
      "  encode   prints, per segment, the AT+CMGS length and the PDU hex (SMSC octet 00)\n"
      "           --srr asks for a status report, --ucs2 forces UCS-2,\n"
      "           --validity MINUTES sets a relative validity period\n"
      "  decode   decodes an SMS-DELIVER, SMS-SUBMIT or SMS-STATUS-REPORT with the SMSC\n"
      "           address prefix, as a modem prints it\n" },
    { "modems", cmd_modems, "modems [--probe] [--json] [PORT...]",
      "list serial ports and USB modems, and which answer AT",
      "Without PORTs: every serial port grouped by USB device, with vendor/product ids,\n"
      "manufacturer, product and serial number; each USB port is sent AT (1 s timeout).\n"
      "USB modems in mass-storage or HiLink mode (no serial port) are listed with the\n"
      "usb_modeswitch command that switches them. Built-in ports (ttyS, ttyAMA) may be a\n"
      "console: they are only probed when named.\n"
      "PORT is a device path (or a link to one, such as a modem-sim pty) or\n"
      "usb:VID:PID[:SERIAL[:INTERFACE]]; each one given is probed and listed on its own.\n"
      "A port the service holds is reported as in use and left alone.\n"
      "  --probe    also ask each answering port for model (AT+CGMM), manufacturer\n"
      "             (AT+CGMI), IMEI (AT+CGSN), IMSI (AT+CIMI), signal (AT+CSQ, in dBm)\n"
      "             and registration (AT+CREG?: home, roaming, searching, denied ...)\n" },
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static const struct cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

const char *cli_default_config(void)
{
    /* A source tree has the sample beside the binary's build; an install has /etc. */
    if (access("config/homing.conf", R_OK) == 0)
        return "config/homing.conf";
    return "/etc/homing/homing.conf";
}

static void vprint(const char *cmd, const char *fmt, va_list ap)
{
    fprintf(stderr, "homing%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint(cmd, fmt, ap);
    va_end(ap);
    return CLI_FAIL;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint(cmd, fmt, ap);
    va_end(ap);
    if (cmd)
        fprintf(stderr, "see 'homing %s --help'\n", cmd);
    else
        fprintf(stderr, "see 'homing help'\n");
    return CLI_USAGE;
}

void cli_print_help(const char *cmd, FILE *out)
{
    const struct cli_command *c = find_command(cmd);
    if (!c)
        return;
    fprintf(out, "usage: homing %s\n\n%s.\n\n%s", c->usage, c->summary, c->details);
    fprintf(out, "%sCommon options:\n"
                 "  -c FILE     configuration file (default: %s)\n"
                 "  --json      print data as JSON\n"
                 "  -h, --help  this help\n", *c->details ? "\n" : "", cli_default_config());
}

static void print_overview(FILE *out)
{
    fprintf(out, "homing %s: an SMS gateway for USB GSM modems and SMPP carriers\n\n"
                 "usage: homing COMMAND [options]\n\ncommands:\n", HOMING_VERSION);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "  %-10s %s\n\n'homing COMMAND --help' tells more about a command.\n",
            "help", "this overview, or 'help COMMAND'");
}

int cli_main(int argc, char **argv)
{
    if (argc < 2)
        return print_overview(stderr), CLI_USAGE;
    const char *name = argv[1];
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("homing %s\n", HOMING_VERSION);
        return CLI_OK;
    }
    if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        if (argc > 2 && find_command(argv[2])) {
            cli_print_help(argv[2], stdout);
            return CLI_OK;
        }
        if (argc > 2)
            return cli_usage(NULL, "no command '%s'", argv[2]);
        print_overview(stdout);
        return CLI_OK;
    }
    const struct cli_command *c = find_command(name);
    if (!c)
        return cli_usage(NULL, "no command '%s'", name);
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            cli_print_help(name, stdout);
            return CLI_OK;
        }
    }
    return c->run(argc - 1, argv + 1);
}

int cli_load_config(const char *cmd, const char *path, struct conf **out)
{
    struct conf_errors errs = { 0 };
    *out = conf_load(path, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.lines[i]);
    conf_errors_free(&errs);
    if (*out)
        return CLI_OK;
    fprintf(stderr, "homing %s: %s has errors; 'homing config check -c %s' lists them\n", cmd,
            path, path);
    return CLI_USAGE;
}

int cli_open_store(const char *cmd, const struct conf *conf, struct store **out)
{
    char err[512];
    *out = store_open(conf->database, err, sizeof err);
    if (!*out)
        return cli_error(cmd, "%s", err);
    /* A service running under --time-scale publishes its clock: stamp times on it. */
    struct store_clock c;
    if (store_clock_read(*out, &c, err, sizeof err) == STORE_OK)
        clock_follow(c.virtual_ms, c.scale, c.wall_ms);
    return CLI_OK;
}

void cli_print_json(void *json)
{
    json_dumpf(json, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(json);
}
