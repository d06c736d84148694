build/test/obj/gateway/main.o: gateway/main.c gateway/cli.h
gateway/cli.h:
