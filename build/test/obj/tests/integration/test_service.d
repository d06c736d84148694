build/test/obj/tests/integration/test_service.o: \
 tests/integration/test_service.c tests/testutil.h
tests/testutil.h:
