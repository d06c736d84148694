build/test/obj/config/conf_doc.o: config/conf_doc.c config/conf.h \
 config/conf_schema.h
config/conf.h:
config/conf_schema.h:
