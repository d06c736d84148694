build/test/obj/gateway/store_schema.o: gateway/store_schema.c \
 gateway/store_schema.h
gateway/store_schema.h:
