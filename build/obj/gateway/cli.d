build/obj/gateway/cli.o: gateway/cli.c gateway/cli.h config/conf.h \
 gateway/clock.h gateway/commands.h gateway/store.h
gateway/cli.h:
config/conf.h:
gateway/clock.h:
gateway/commands.h:
gateway/store.h:
