/*
 * faasm/host_interface_test.h - the test numbers of
 * __faasm_host_interface_test, as in Faasm.
 */
#ifndef FAASM_HOST_INTERFACE_TEST_H
#define FAASM_HOST_INTERFACE_TEST_H

enum HostInterfaceTest
{
    /* Does nothing. */
    NoTest = 0,
    /* The host raises an error inside the call: the call fails with
     * "Host interface test: exception propagation" as its reason. */
    ExceptionPropagationTest = 1,
};

#endif /* FAASM_HOST_INTERFACE_TEST_H */
