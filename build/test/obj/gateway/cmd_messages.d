build/test/obj/gateway/cmd_messages.o: gateway/cmd_messages.c \
 config/conf.h gateway/cli.h gateway/clock.h gateway/codec.h \
 gateway/commands.h gateway/phone.h gateway/store.h
config/conf.h:
gateway/cli.h:
gateway/clock.h:
gateway/codec.h:
gateway/commands.h:
gateway/phone.h:
gateway/store.h:
