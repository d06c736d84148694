build/test/obj/gateway/codec.o: gateway/codec.c gateway/codec.h
gateway/codec.h:
