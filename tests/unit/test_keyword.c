/* STOP, START and HELP spellings and look-alikes, with and without local words. */
#include <stdio.h>
#include <string.h>

#include "config/conf.h"
#include "gateway/keyword.h"
#include "tests/testutil.h"

static const struct { const char *text; enum keyword_kind kind; } cases[] = {
    { "STOP", KEYWORD_OPTOUT },          { "stop", KEYWORD_OPTOUT },
    { "Stop", KEYWORD_OPTOUT },          { " STOP!", KEYWORD_OPTOUT },
    { "stop please", KEYWORD_OPTOUT },   { "Stop.", KEYWORD_OPTOUT },
    { "\tSTOP\r\n", KEYWORD_OPTOUT },    { "STOP STOP STOP", KEYWORD_OPTOUT },
    { "...stop...", KEYWORD_OPTOUT },    { "\"Stop\"", KEYWORD_OPTOUT },
    { "ＳＴＯＰ", KEYWORD_OPTOUT },       /* full-width */
    { "stopall", KEYWORD_OPTOUT },       { "Unsubscribe me", KEYWORD_OPTOUT },
    { "cancel", KEYWORD_OPTOUT },        { "END", KEYWORD_OPTOUT },
    { "quit", KEYWORD_OPTOUT },          { "OptOut", KEYWORD_OPTOUT },
    { "revoke", KEYWORD_OPTOUT },        { "stop, thanks", KEYWORD_OPTOUT },
    { "don't stop", KEYWORD_NONE },      { "Unstoppable deals", KEYWORD_NONE },
    { "stopp", KEYWORD_NONE },           { "S T O P", KEYWORD_NONE },
    { "please stop", KEYWORD_NONE },     { "st0p", KEYWORD_NONE },
    { "", KEYWORD_NONE },                { "!!!", KEYWORD_NONE },
    { "Thanks, see you soon", KEYWORD_NONE },
    { "START", KEYWORD_OPTIN },          { "unstop", KEYWORD_OPTIN },
    { "Yes!", KEYWORD_OPTIN },           { "yes please", KEYWORD_OPTIN },
    { "starting", KEYWORD_NONE },
    { "HELP", KEYWORD_HELP },            { "help?", KEYWORD_HELP },
    { "info", KEYWORD_HELP },            { "helpful", KEYWORD_NONE },
};

START_TEST(builtin_words)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char word[64];
        enum keyword_kind k = keyword_match(NULL, cases[i].text, word, sizeof word);
        ck_assert_msg(k == cases[i].kind, "'%s' is %s, expected %s", cases[i].text,
                      keyword_kind_name(k), keyword_kind_name(cases[i].kind));
    }
    char word[64];
    keyword_match(NULL, " stop!", word, sizeof word);
    ck_assert_str_eq(word, "STOP");
}
END_TEST

START_TEST(local_words_add_to_the_builtin_ones)
{
    struct conf_errors errs = { 0 };
    const char *dir = testutil_tmpdir();
    char path[600];
    snprintf(path, sizeof path, "%s", testutil_write_file(dir, "k.conf",
             "keywords = { optout = [ \"ARRET\", \"baja\", \"Arrêt\" ]; help = [ \"AIDE\" ]; };\n"));
    struct conf *c = conf_load(path, &errs);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(keyword_match(c, "Baja", NULL, 0), KEYWORD_OPTOUT);
    ck_assert_int_eq(keyword_match(c, "arret svp", NULL, 0), KEYWORD_OPTOUT);
    ck_assert_int_eq(keyword_match(c, "ARRÊT", NULL, 0), KEYWORD_OPTOUT);
    ck_assert_int_eq(keyword_match(c, "arrêt", NULL, 0), KEYWORD_OPTOUT);
    ck_assert_int_eq(keyword_match(c, "aide", NULL, 0), KEYWORD_HELP);
    ck_assert_int_eq(keyword_match(c, "STOP", NULL, 0), KEYWORD_OPTOUT); /* still */
    ck_assert_int_eq(keyword_match(NULL, "baja", NULL, 0), KEYWORD_NONE);
    conf_free(c);
}
END_TEST

START_TEST(invalid_utf8_is_no_keyword)
{
    ck_assert_int_eq(keyword_match(NULL, "\xff" "STOP", NULL, 0), KEYWORD_NONE);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("keyword");
    TCase *t = tcase_create("match");
    tcase_add_test(t, builtin_words);
    tcase_add_test(t, local_words_add_to_the_builtin_ones);
    tcase_add_test(t, invalid_utf8_is_no_keyword);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
