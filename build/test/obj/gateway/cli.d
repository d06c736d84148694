build/test/obj/gateway/cli.o: gateway/cli.c gateway/cli.h config/conf.h \
 gateway/commands.h gateway/store.h
gateway/cli.h:
config/conf.h:
gateway/commands.h:
gateway/store.h:
