build/test/obj/gateway/cmd_config.o: gateway/cmd_config.c config/conf.h \
 gateway/cli.h gateway/commands.h
config/conf.h:
gateway/cli.h:
gateway/commands.h:
