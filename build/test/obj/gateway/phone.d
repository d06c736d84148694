build/test/obj/gateway/phone.o: gateway/phone.c gateway/phone.h
gateway/phone.h:
