build/test/obj/tests/unit/test_phone.o: tests/unit/test_phone.c \
 gateway/phone.h tests/testutil.h
gateway/phone.h:
tests/testutil.h:
