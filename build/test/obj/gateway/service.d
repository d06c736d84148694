build/test/obj/gateway/service.o: gateway/service.c gateway/service.h \
 config/conf.h gateway/clock.h gateway/log.h gateway/loop.h \
 gateway/store.h
gateway/service.h:
config/conf.h:
gateway/clock.h:
gateway/log.h:
gateway/loop.h:
gateway/store.h:
