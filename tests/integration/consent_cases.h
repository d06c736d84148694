/*
 * consent_cases: STOP spellings and look-alikes with the outcome the keyword
 * rules promise (gateway/keyword.h), shared by the smsc-sim and modem-sim
 * consent tests so both routes are held to the same list. Texts are written
 * as the simulators' control channels take them: backslash-n is a newline.
 */
#ifndef HOMING_TESTS_CONSENT_CASES_H
#define HOMING_TESTS_CONSENT_CASES_H

#include <stddef.h>

/* What a text sent to homing must do: opt out (with its keyword), ask for help, or nothing. */
enum outcome { OPTS_OUT, HELPS, NOTHING };

static const struct spelling {
    const char *text;            /* as the control channels take it (\n escapes) */
    enum outcome outcome;
    const char *keyword;         /* the word recorded */
} spellings[] = {
    { "Stop", OPTS_OUT, "STOP" },
    { " STOP!", OPTS_OUT, "STOP" },
    { "stop please", OPTS_OUT, "STOP" },
    { "ＳＴＯＰ", OPTS_OUT, "STOP" },              /* full width */
    { "ＳＴＯＰ　ｐｌｅａｓｅ", OPTS_OUT, "STOP" }, /* full width, ideographic space */
    { "UNSUBSCRIBE", OPTS_OUT, "UNSUBSCRIBE" },
    { "quit", OPTS_OUT, "QUIT" },
    { "stop.", OPTS_OUT, "STOP" },
    { "sToP", OPTS_OUT, "STOP" },
    { "STOP STOP STOP", OPTS_OUT, "STOP" },
    { "...stop...", OPTS_OUT, "STOP" },
    { "Stop\\nthanks", OPTS_OUT, "STOP" },
    { "stop, thanks", OPTS_OUT, "STOP" },
    { "¡Stop!", OPTS_OUT, "STOP" },
    { "StopAll", OPTS_OUT, "STOPALL" },
    { "Cancel", OPTS_OUT, "CANCEL" },
    { "end", OPTS_OUT, "END" },
    { "OptOut", OPTS_OUT, "OPTOUT" },
    { "revoke", OPTS_OUT, "REVOKE" },
    { "don't stop", NOTHING, NULL },
    { "Unstoppable deals", NOTHING, NULL },
    { "stopping by later", NOTHING, NULL },
    { "STOPP", NOTHING, NULL },
    { "stop2", NOTHING, NULL },
    { "non-stop offers?", NOTHING, NULL },
    { "I'll stop by on Friday", NOTHING, NULL },
    { "endless summer", NOTHING, NULL },
    { "help me", HELPS, NULL },
};
#define N_SPELLINGS (sizeof spellings / sizeof spellings[0])

#endif
