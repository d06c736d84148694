build/test/obj/gateway/clock.o: gateway/clock.c gateway/clock.h
gateway/clock.h:
