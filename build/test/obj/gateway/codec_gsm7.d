build/test/obj/gateway/codec_gsm7.o: gateway/codec_gsm7.c gateway/codec.h
gateway/codec.h:
