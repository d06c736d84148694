build/test/obj/gateway/cmd_run.o: gateway/cmd_run.c gateway/cli.h \
 gateway/clock.h gateway/commands.h gateway/service.h
gateway/cli.h:
gateway/clock.h:
gateway/commands.h:
gateway/service.h:
