build/test/obj/gateway/store.o: gateway/store.c gateway/store.h \
 gateway/store_schema.h
gateway/store.h:
gateway/store_schema.h:
