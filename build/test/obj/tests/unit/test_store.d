build/test/obj/tests/unit/test_store.o: tests/unit/test_store.c \
 gateway/store.h tests/testutil.h
gateway/store.h:
tests/testutil.h:
