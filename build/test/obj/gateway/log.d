build/test/obj/gateway/log.o: gateway/log.c gateway/log.h
gateway/log.h:
