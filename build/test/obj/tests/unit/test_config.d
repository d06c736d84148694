build/test/obj/tests/unit/test_config.o: tests/unit/test_config.c \
 config/conf.h tests/testutil.h
config/conf.h:
tests/testutil.h:
