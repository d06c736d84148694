build/test/obj/config/conf.o: config/conf.c config/conf.h \
 config/conf_check.h config/conf_schema.h
config/conf.h:
config/conf_check.h:
config/conf_schema.h:
