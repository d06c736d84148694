build/test/obj/config/conf_schema.o: config/conf_schema.c \
 config/conf_schema.h config/conf.h
config/conf_schema.h:
config/conf.h:
