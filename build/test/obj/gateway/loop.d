build/test/obj/gateway/loop.o: gateway/loop.c gateway/loop.h
gateway/loop.h:
