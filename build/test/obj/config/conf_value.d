build/test/obj/config/conf_value.o: config/conf_value.c config/conf.h
config/conf.h:
