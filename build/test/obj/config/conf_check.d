build/test/obj/config/conf_check.o: config/conf_check.c \
 config/conf_check.h config/conf.h gateway/phone.h
config/conf_check.h:
config/conf.h:
gateway/phone.h:
