/*
 * commands: every `homing` subcommand. Each lives in a gateway/cmd_*.c file;
 * the table that names them, with their help, is in gateway/cli.c.
 */
#ifndef HOMING_COMMANDS_H
#define HOMING_COMMANDS_H

int cmd_run(int argc, char **argv);      /* cmd_run.c */
int cmd_config(int argc, char **argv);   /* cmd_config.c */
int cmd_send(int argc, char **argv);     /* cmd_messages.c */
int cmd_messages(int argc, char **argv); /* cmd_messages.c */
int cmd_show(int argc, char **argv);     /* cmd_messages.c */
int cmd_status(int argc, char **argv);   /* cmd_status.c */
int cmd_optout(int argc, char **argv);   /* cmd_consent.c */
int cmd_inbound(int argc, char **argv);  /* cmd_consent.c */
int cmd_segments(int argc, char **argv); /* cmd_codec.c */
int cmd_pdu(int argc, char **argv);      /* cmd_codec.c */
int cmd_modems(int argc, char **argv);   /* cmd_modems.c */
int cmd_contacts(int argc, char **argv); /* cmd_sched.c */
int cmd_enroll(int argc, char **argv);   /* cmd_sched.c */
int cmd_convert(int argc, char **argv);  /* cmd_sched.c */
int cmd_campaign(int argc, char **argv); /* cmd_sched.c */
int cmd_report(int argc, char **argv);   /* cmd_report.c */

#endif
